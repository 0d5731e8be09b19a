/// How `update-cluster` may change a field (names as in the original, which users see in change sets).
public enum UpdatePolicy: String, Sendable, CaseIterable {
    case ignored = "IGNORED"
    case supported = "SUPPORTED"
    case unsupported = "UNSUPPORTED"
    case computeFleetStop = "COMPUTE_FLEET_STOP"
    case computeFleetStopOnRemove = "COMPUTE_FLEET_STOP_ON_REMOVE"
    case queueUpdateStrategy = "QUEUE_UPDATE_STRATEGY"
    case resizeUpdateStrategyOnRemove = "RESIZE_UPDATE_STRATEGY_ON_REMOVE"
    case sharedStorageUpdatePolicy = "SHARED_STORAGE_UPDATE_POLICY"
    case headNodeStop = "HEAD_NODE_STOP"
    case loginNodesStop = "LOGIN_NODES_STOP"
    case loginNodesPoolStop = "LOGIN_NODES_POOL_STOP"
    case computeAndLoginNodesStop = "COMPUTE_AND_LOGIN_NODES_STOP"
    case managedPlacementGroup = "MANAGED_PLACEMENT_GROUP"
    case managedFsx = "MANAGED_FSX"
    case maxCount = "MAX_COUNT"
    case readOnlyResourceBucket = "READ_ONLY_RESOURCE_BUCKET"
}

/// A check of a string value; returns a problem sentence, or nil when the value is fine.
public typealias StringCheck = @Sendable (String) -> String?

/// The shape a value must have. Written as data so one table drives checking, suggestions
/// and the update-cluster diff.
public indirect enum SchemaType: Sendable {
    case string(StringCheck? = nil)
    case enumeration([String])
    case integer(min: Int? = nil, max: Int? = nil, allowed: [Int]? = nil)
    case number(min: Double? = nil)
    case boolean
    case object(ObjectSchema)
    /// A list; `key` names the field that identifies an item (Name, Key, Policy...) for diffs and duplicates.
    case list(SchemaType, min: Int? = nil, max: Int? = nil, key: String? = nil)
    /// A mapping with keys of the user's choosing (CustomSlurmSettings, AdditionalSssdConfigs).
    case freeMapping
    /// A custom action: one script mapping, or a list of them.
    case oneOrList(ObjectSchema)
}

public struct FieldSchema: Sendable {
    public let name: String
    public let type: SchemaType
    public let required: Bool
    /// nil inherits the policy of the enclosing field.
    public let policy: UpdatePolicy?

    public init(_ name: String, _ type: SchemaType, required: Bool = false, policy: UpdatePolicy? = nil) {
        self.name = name
        self.type = type
        self.required = required
        self.policy = policy
    }
}

public struct ObjectSchema: Sendable {
    public let fields: [FieldSchema]
    /// Groups of which at most one field may be set.
    public let exclusive: [[String]]
    /// Groups of which exactly one field must be set.
    public let oneRequired: [[String]]

    public init(_ fields: [FieldSchema], exclusive: [[String]] = [], oneRequired: [[String]] = []) {
        self.fields = fields
        self.exclusive = exclusive
        self.oneRequired = oneRequired
    }

    public func field(_ name: String) -> FieldSchema? { fields.first(where: { $0.name == name }) }
}

/// Checks a document against a schema and reports every problem it finds, each with its position.
public struct SchemaChecker {
    public static let validatorName = "ConfigSchemaValidator"
    let document: ConfigDocument
    var findings: [ValidationMessage] = []
    /// Paths whose values the schema rejected (or that are missing). Validators read defaults
    /// there, so their findings about these paths would be noise and are dropped.
    var invalidPaths: [ConfigPath] = []
    var current = ConfigPath.root

    public struct Report: Sendable {
        public var findings: [ValidationMessage]
        public var invalidPaths: [ConfigPath]
    }

    public static func check(_ document: ConfigDocument, against schema: ObjectSchema) -> Report {
        var checker = SchemaChecker(document: document)
        checker.checkObject(document.root, schema, ConfigPath.root)
        return Report(findings: checker.findings, invalidPaths: checker.invalidPaths)
    }

    mutating func report(_ message: String, _ mark: ConfigNode.Mark, invalid: ConfigPath? = nil) {
        findings.append(ValidationMessage(level: .error, type: Self.validatorName, message: message, location: document.location(mark)))
        if let invalid, !invalid.components.isEmpty { invalidPaths.append(invalid) }
    }

    mutating func check(_ node: ConfigNode, _ type: SchemaType, _ path: ConfigPath) {
        let before = findings.count
        var isContainer = false
        switch type {
        case .object, .list, .oneOrList: isContainer = true
        default: break
        }
        // A container's own shape errors mark it below; problems nested inside it mark only themselves.
        defer { if !isContainer, findings.count > before, !path.components.isEmpty { invalidPaths.append(path) } }
        if node.isNull {
            invalidPaths.append(path)
            report("\(path) has no value; give it one or remove the key", node.mark)
            return
        }
        switch type {
        case .object(let schema):
            checkObject(node, schema, path)
        case .string(let extra):
            guard let text = scalarText(node, path, expected: "a string") else { return }
            if let extra, let problem = extra(text) { report("\(path): \(problem)", node.mark) }
        case .enumeration(let allowed):
            guard let text = scalarText(node, path, expected: "one of \(allowed.joined(separator: ", "))") else { return }
            if !allowed.contains(text) {
                var msg = "\(path) must be one of \(allowed.joined(separator: ", ")); found '\(text)'"
                if let s = Suggest.closest(to: text, in: allowed) { msg += ". Did you mean '\(s)'?" }
                report(msg, node.mark)
            }
        case .integer(let min, let max, let allowed):
            guard scalarText(node, path, expected: "a whole number") != nil else { return }
            guard let v = node.int else {
                report("\(path) must be a whole number, found \(node.kindDescription)", node.mark)
                return
            }
            if let min, v < min { report("\(path) must be at least \(min), found \(v)", node.mark) }
            if let max, v > max { report("\(path) must be at most \(max), found \(v)", node.mark) }
            if let allowed, !allowed.contains(v) {
                report("\(path) must be one of \(allowed.map(String.init).joined(separator: ", ")), found \(v)", node.mark)
            }
        case .number(let min):
            guard scalarText(node, path, expected: "a number") != nil else { return }
            guard let v = node.double else {
                report("\(path) must be a number, found \(node.kindDescription)", node.mark)
                return
            }
            if let min, v < min { report("\(path) must be at least \(min), found \(v)", node.mark) }
        case .boolean:
            guard scalarText(node, path, expected: "true or false") != nil else { return }
            if node.bool == nil { report("\(path) must be true or false, found \(node.kindDescription)", node.mark) }
        case .list(let itemType, let min, let max, _):
            guard let seq = node.sequence else {
                report("\(path) must be a list (lines starting with '- '), found \(node.kindDescription)", node.mark, invalid: path)
                return
            }
            if let min, seq.items.count < min {
                invalidPaths.append(path)
                report("\(path) must have at least \(min) item\(min == 1 ? "" : "s"), found \(seq.items.count)", node.mark)
            }
            if let max, seq.items.count > max {
                report("\(path) may have at most \(max) items, found \(seq.items.count)", node.mark)
            }
            for (i, item) in seq.items.enumerated() { check(item, itemType, path / i) }
        case .freeMapping:
            if node.mapping == nil { report("\(path) must be a mapping of settings, found \(node.kindDescription)", node.mark) }
        case .oneOrList(let schema):
            if let seq = node.sequence {
                for (i, item) in seq.items.enumerated() { checkObject(item, schema, path / i) }
            } else {
                checkObject(node, schema, path)
            }
        }
    }

    /// The text of a scalar, or a report that the node is a container where a value was expected.
    mutating func scalarText(_ node: ConfigNode, _ path: ConfigPath, expected: String) -> String? {
        guard case .scalar(let s) = node else {
            report("\(path) must be \(expected), found \(node.kindDescription)", node.mark)
            return nil
        }
        return s.text
    }

    mutating func checkObject(_ node: ConfigNode, _ schema: ObjectSchema, _ path: ConfigPath) {
        guard let mapping = node.mapping else {
            let what = path.components.isEmpty ? "The configuration" : "\(path)"
            report("\(what) must be a mapping (Key: value lines), found \(node.kindDescription)", node.mark, invalid: path)
            return
        }
        for entry in mapping.entries {
            guard let field = schema.field(entry.key) else {
                let known = schema.fields.map(\.name)  // only needed for the message
                var msg = "unknown key '\(entry.key)'"
                msg += path.components.isEmpty ? " at the top level" : " in \(path)"
                if let s = Suggest.closest(to: entry.key, in: known) {
                    msg += "; did you mean '\(s)'?"
                } else {
                    msg += "; allowed keys: \(known.joined(separator: ", "))"
                }
                report(msg, entry.keyMark)
                continue
            }
            check(entry.value, field.type, path / entry.key)
        }
        let where_ = path.components.isEmpty ? "the configuration" : "\(path)"
        for field in schema.fields where field.required && mapping[field.name] == nil {
            report("\(where_) is missing the required key '\(field.name)'", mapping.mark, invalid: path / field.name)
        }
        for group in schema.exclusive {
            let present = group.filter { mapping[$0] != nil }
            if present.count > 1, let e = mapping.entry(present[1]) {
                report("\(present.joined(separator: " and ")) cannot be used together in \(where_); keep one", e.keyMark, invalid: path / present[1])
            }
        }
        for group in schema.oneRequired where !group.contains(where: { mapping[$0] != nil }) {
            report("\(where_) needs one of \(group.joined(separator: " or "))", mapping.mark, invalid: path / group[0])
        }
    }
}

/// "Did you mean" suggestions: an exact match ignoring case, else the nearest name within a
/// small edit distance (optimal string alignment, so a swap of two letters counts once).
public enum Suggest {
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let lower = word.lowercased()
        if let exact = candidates.first(where: { $0.lowercased() == lower }) { return exact }
        let limit = max(1, min(3, word.count / 3))
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(lower, c.lowercased())
            if d <= limit, d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
