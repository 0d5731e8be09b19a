/// The YAML document as a tree that remembers where every key and value came from, so that
/// every schema error and validator finding can point at file:line:column.
public indirect enum ConfigNode: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    public struct Mark: Sendable, Hashable {
        public var line: Int
        public var column: Int
        public init(line: Int, column: Int) { self.line = line; self.column = column }
    }

    public struct Scalar: Sendable {
        public var text: String
        /// Plain (unquoted) scalars are subject to YAML's implicit typing: `3` is a number,
        /// `true` a boolean, an empty value or `~` null. Quoted ones are always strings.
        public var isPlain: Bool
        public var mark: Mark
    }

    public struct Entry: Sendable {
        public var key: String
        public var keyMark: Mark
        public var value: ConfigNode
    }

    public struct Mapping: Sendable {
        public var entries: [Entry]
        public var mark: Mark
        public subscript(key: String) -> ConfigNode? { entries.first(where: { $0.key == key })?.value }
        public func entry(_ key: String) -> Entry? { entries.first(where: { $0.key == key }) }
    }

    public struct Sequence: Sendable {
        public var items: [ConfigNode]
        public var mark: Mark
    }

    public var mark: Mark {
        switch self {
        case .scalar(let s): return s.mark
        case .mapping(let m): return m.mark
        case .sequence(let s): return s.mark
        }
    }

    public var mapping: Mapping? { if case .mapping(let m) = self { return m }; return nil }
    public var sequence: Sequence? { if case .sequence(let s) = self { return s }; return nil }
    public var scalar: Scalar? { if case .scalar(let s) = self { return s }; return nil }

    public subscript(key: String) -> ConfigNode? { mapping?[key] }

    /// The null of YAML 1.1 (what the original's PyYAML understands): an empty plain scalar, `~`, `null`.
    public var isNull: Bool {
        guard case .scalar(let s) = self, s.isPlain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.text)
    }

    // MARK: Typed readings of scalars, as the original reads them: PyYAML's YAML 1.1 types, then
    // marshmallow's conversions for the field's type (ScalarTypes.swift).

    /// The scalar as PyYAML resolves it; nil for mappings and lists.
    public var yamlValue: YAMLValue? { scalar?.resolved }

    public var string: String? {
        guard case .scalar(let s) = self, !isNull else { return nil }
        return s.text
    }

    public var int: Int? { yamlValue.flatMap(Marshmallow.integer) }

    public var double: Double? { yamlValue.flatMap(Marshmallow.number) }

    public var bool: Bool? { yamlValue.flatMap(Marshmallow.boolean) }

    static func parseInt(_ raw: String) -> Int? {
        // Fast path: plain decimal, by far the common case (Foundation's string search is slow here).
        if let v = Int(raw) { return v }
        guard raw.utf8.contains(where: { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "o") || $0 == UInt8(ascii: "+") })
        else { return nil }
        var t = Substring(raw.filter { $0 != "_" })
        var sign = 1
        if t.first == "-" { sign = -1; t = t.dropFirst() } else if t.first == "+" { t = t.dropFirst() }
        guard !t.isEmpty else { return nil }
        if t.hasPrefix("0x") { return Int(t.dropFirst(2), radix: 16).map { $0 * sign } }
        if t.hasPrefix("0o") { return Int(t.dropFirst(2), radix: 8).map { $0 * sign } }
        guard t.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(t).map { $0 * sign }
    }

    /// A short description of what a node is, for "expected X, found Y" messages.
    public var kindDescription: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            if isNull { return "nothing (an empty value)" }
            let shown = s.text.count > 40 ? String(s.text.prefix(37)) + "..." : s.text
            return s.isPlain ? "'\(shown)'" : "the string '\(shown)'"
        }
    }

    /// Follows a path through the tree; returns the deepest node reached, so a path into a missing
    /// key still points at its parent.
    public func deepest(_ path: ConfigPath) -> (node: ConfigNode, keyMark: Mark?, complete: Bool) {
        var node = self
        var keyMark: Mark? = nil
        for c in path.components {
            switch c {
            case .key(let k):
                guard let e = node.mapping?.entry(k) else { return (node, keyMark, false) }
                node = e.value
                keyMark = e.keyMark
            case .index(let i):
                guard let s = node.sequence, s.items.indices.contains(i) else { return (node, keyMark, false) }
                node = s.items[i]
                keyMark = nil
            }
        }
        return (node, keyMark, true)
    }
}
