import JSONOutput

extension ConfigNode {
    /// The value as JSON, typed the way YAML 1.1 reads plain scalars (numbers, booleans, null).
    public var jsonValue: JSONValue {
        switch self {
        case .scalar(let s):
            if isNull { return .null }
            guard s.isPlain else { return .string(s.text) }
            if let b = bool, ["true", "false", "True", "False", "TRUE", "FALSE"].contains(s.text) { return .bool(b) }
            if let i = ConfigNode.parseInt(s.text) { return .int(i) }
            if let d = double, s.text.contains(".") { return .double(d) }
            return .string(s.text)
        case .sequence(let q):
            return .array(q.items.map(\.jsonValue))
        case .mapping(let m):
            return .object(JSONObject(m.entries.map { ($0.key, $0.value.jsonValue) }))
        }
    }
}
