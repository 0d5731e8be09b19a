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

/// A check of a whole field once its value has the right shape (the original's `@validates`).
public typealias NodeCheck = @Sendable (ConfigNode) -> String?

/// A rule between the fields of one object (the original's `@validates_schema`): returns a problem
/// with the object, or nil. Like the original, rules run only when the object's fields hold.
public typealias ObjectRule = @Sendable (ConfigNode.Mapping) -> RuleProblem?

/// What a rule found: a sentence, about the whole object or about one of its fields.
public struct RuleProblem: Sendable, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public var message: String
    public var field: String?

    public init(_ message: String, field: String? = nil) {
        self.message = message
        self.field = field
    }

    public init(stringLiteral value: String) { self.init(value) }
}

/// The shape a value must have. Written as data so one table drives checking, suggestions
/// and the update-cluster diff.
public indirect enum SchemaType: Sendable {
    case string(StringCheck? = nil)
    case enumeration([String])
    case integer(min: Int? = nil, max: Int? = nil, allowed: [Int]? = nil)
    case number(min: Double? = nil)
    case boolean
    /// Any value at all (the original's Raw fields).
    case any
    case object(ObjectSchema)
    /// A list; `key` names the field that identifies an item (Name, Key, Policy...) for diffs and duplicates.
    case list(SchemaType, min: Int? = nil, max: Int? = nil, key: String? = nil)
    /// A mapping with keys of the user's choosing (CustomSlurmSettings, AdditionalSssdConfigs).
    case freeMapping
    /// A custom action: a mapping with `Script`, or one with `Sequence`, a list of such mappings.
    case customAction(ObjectSchema)
}

public struct FieldSchema: Sendable {
    public let name: String
    public let type: SchemaType
    public let required: Bool
    /// nil inherits the policy of the enclosing field.
    public let policy: UpdatePolicy?
    public let check: NodeCheck?

    public init(_ name: String, _ type: SchemaType, required: Bool = false, policy: UpdatePolicy? = nil, check: NodeCheck? = nil) {
        self.name = name
        self.type = type
        self.required = required
        self.policy = policy
        self.check = check
    }
}

public struct ObjectSchema: Sendable {
    public let fields: [FieldSchema]
    public let rules: [ObjectRule]

    /// `exclusive`: groups of which at most one field may be set; `oneRequired`: groups of which
    /// one field must be set. "Set" is Python's truth of the value, as in the original: an empty
    /// list or a zero does not count.
    public init(_ fields: [FieldSchema], exclusive: [[String]] = [], oneRequired: [[String]] = [], rules: [ObjectRule] = []) {
        self.fields = fields
        var all: [ObjectRule] = exclusive.map { group in
            { m in
                let present = group.filter { m[$0]?.isTruthy ?? false }
                return present.count > 1 ? "\(present.joined(separator: " and ")) cannot be used together; keep one" : nil
            }
        }
        all += oneRequired.map { group in
            { m in group.contains { m[$0]?.isTruthy ?? false } ? nil : "one of \(group.joined(separator: " or ")) is required" }
        }
        self.rules = all + rules
    }

    public func field(_ name: String) -> FieldSchema? { fields.first(where: { $0.name == name }) }
}

extension ConfigNode {
    /// Python's truth of the value the original's schema makes of this node: empty mappings and
    /// lists, empty strings, zero, false and null are false.
    public var isTruthy: Bool {
        switch self {
        case .mapping(let m): return !m.entries.isEmpty
        case .sequence(let s): return !s.items.isEmpty
        case .scalar(let s):
            switch s.resolved {
            case .null: return false
            case .bool(let b): return b
            case .int(let i): return i != 0
            case .float(let d): return d != 0
            case .string(let t): return !t.isEmpty
            case .bigInt, .timestamp: return true
            }
        }
    }
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

    /// Records a problem with the field at `about` (the object itself for rules between its fields).
    mutating func report(_ message: String, _ mark: ConfigNode.Mark, about: ConfigPath, invalid: ConfigPath? = nil) {
        findings.append(
            ValidationMessage(
                level: .error, type: Self.validatorName, message: message, location: document.location(mark), path: about))
        if let invalid, !invalid.components.isEmpty { invalidPaths.append(invalid) }
    }

    mutating func check(_ node: ConfigNode, _ type: SchemaType, _ path: ConfigPath) {
        let before = findings.count
        var isContainer = false
        switch type {
        case .object, .list, .customAction: isContainer = true
        default: break
        }
        // A container's own shape errors mark it below; problems nested inside it mark only themselves.
        defer { if !isContainer, findings.count > before, !path.components.isEmpty { invalidPaths.append(path) } }
        if node.isNull {
            invalidPaths.append(path)
            report("\(path) has no value; give it one or remove the key", node.mark, about: path)
            return
        }
        switch type {
        case .object(let schema):
            checkObject(node, schema, path)
        case .any:
            break
        case .string(let extra):
            guard let text = stringValue(node, path) else { return }
            if let extra, let problem = extra(text) { report("\(path): \(problem)", node.mark, about: path) }
        case .enumeration(let allowed):
            guard let text = stringValue(node, path) else { return }
            if !allowed.contains(text) {
                var msg = "\(path) must be one of \(allowed.joined(separator: ", ")); found '\(text)'"
                if let s = Suggest.closest(to: text, in: allowed) { msg += ". Did you mean '\(s)'?" }
                report(msg, node.mark, about: path)
            }
        case .integer(let min, let max, let allowed):
            guard let v = typed(node, path, "a whole number", Marshmallow.integer) else { return }
            if let min, v < min { report("\(path) must be at least \(min), found \(v)", node.mark, about: path) }
            if let max, v > max { report("\(path) must be at most \(max), found \(v)", node.mark, about: path) }
            if let allowed, !allowed.contains(v) {
                report("\(path) must be one of \(allowed.map(String.init).joined(separator: ", ")), found \(v)", node.mark, about: path)
            }
        case .number(let min):
            guard let v = typed(node, path, "a number", Marshmallow.number) else { return }
            if let min, v < min { report("\(path) must be at least \(min), found \(v)", node.mark, about: path) }
        case .boolean:
            _ = typed(node, path, "true or false", Marshmallow.boolean)
        case .list(let itemType, let min, let max, _):
            guard let seq = node.sequence else {
                report("\(path) must be a list (lines starting with '- '), found \(node.kindDescription)", node.mark, about: path, invalid: path)
                return
            }
            if let min, seq.items.count < min {
                invalidPaths.append(path)
                report("\(path) must have at least \(min) item\(min == 1 ? "" : "s"), found \(seq.items.count)", node.mark, about: path)
            }
            if let max, seq.items.count > max {
                report("\(path) may have at most \(max) items, found \(seq.items.count)", node.mark, about: path)
            }
            for (i, item) in seq.items.enumerated() { check(item, itemType, path / i) }
        case .freeMapping:
            if node.mapping == nil { report("\(path) must be a mapping of settings, found \(node.kindDescription)", node.mark, about: path) }
        case .customAction(let schema):
            checkCustomAction(node, schema, path)
        }
    }

    /// A string field takes only what YAML reads as a string: `Name: 123` or `Name: yes` are a
    /// number and a boolean (quote them to make them strings), as for the original.
    mutating func stringValue(_ node: ConfigNode, _ path: ConfigPath) -> String? {
        guard let value = node.yamlValue else {
            report("\(path) must be a string, found \(node.kindDescription)", node.mark, about: path)
            return nil
        }
        guard let text = Marshmallow.string(value) else {
            report(
                "\(path) must be a string, found \(node.kindDescription), which YAML reads as \(value.typeName); quote it to make it a string",
                node.mark, about: path)
            return nil
        }
        return text
    }

    mutating func typed<T>(_ node: ConfigNode, _ path: ConfigPath, _ expected: String, _ convert: (YAMLValue) -> T?) -> T? {
        guard let value = node.yamlValue, let converted = convert(value) else {
            report("\(path) must be \(expected), found \(node.kindDescription)", node.mark, about: path)
            return nil
        }
        return converted
    }

    /// The original's custom action field: `Script` (with `Args`), or `Sequence`, a list of those.
    /// An error inside a sequence item is the field's, as the original reports it.
    mutating func checkCustomAction(_ node: ConfigNode, _ schema: ObjectSchema, _ path: ConfigPath) {
        guard let mapping = node.mapping else {
            report(
                "\(path) must be a mapping with Script (and Args) or Sequence, found \(node.kindDescription)", node.mark, about: path, invalid: path)
            return
        }
        switch (mapping["Script"] != nil, mapping["Sequence"]) {
        case (true, .some):
            report("\(path) has both Script and Sequence; keep one", node.mark, about: path, invalid: path)
        case (true, nil):
            checkObject(node, schema, path)
        case (false, .some(let sequence)):
            guard let items = sequence.sequence?.items else {
                report("\(path).Sequence must be a list of scripts, found \(sequence.kindDescription)", sequence.mark, about: path, invalid: path)
                return
            }
            for item in items {
                let before = findings.count
                checkObject(item, schema, path)
                if findings.count > before { return }  // the original stops at the first bad script
            }
        case (false, nil):
            report("\(path) needs Script (with optional Args) or Sequence", node.mark, about: path, invalid: path)
        }
    }

    /// A scalar's text, or a report that the node is a container where a value was expected.
    mutating func scalarText(_ node: ConfigNode, _ path: ConfigPath, expected: String) -> String? {
        guard case .scalar(let s) = node else {
            report("\(path) must be \(expected), found \(node.kindDescription)", node.mark, about: path)
            return nil
        }
        return s.text
    }

    mutating func checkObject(_ node: ConfigNode, _ schema: ObjectSchema, _ path: ConfigPath) {
        guard let mapping = node.mapping else {
            let what = path.components.isEmpty ? "The configuration" : "\(path)"
            report("\(what) must be a mapping (Key: value lines), found \(node.kindDescription)", node.mark, about: path, invalid: path)
            return
        }
        let before = findings.count
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
                report(msg, entry.keyMark, about: path / entry.key)
                continue
            }
            let fieldStart = findings.count
            check(entry.value, field.type, path / entry.key)
            if findings.count == fieldStart, let fieldCheck = field.check, let problem = fieldCheck(entry.value) {
                report("\(path / entry.key): \(problem)", entry.keyMark, about: path / entry.key, invalid: path / entry.key)
            }
        }
        let where_ = path.components.isEmpty ? "the configuration" : "\(path)"
        for field in schema.fields where field.required && mapping[field.name] == nil {
            report("\(where_) is missing the required key '\(field.name)'", mapping.mark, about: path / field.name, invalid: path / field.name)
        }
        // The original checks rules between fields only when every field holds.
        guard findings.count == before else { return }
        for rule in schema.rules {
            if let problem = rule(mapping) {
                let about = problem.field.map { path / $0 } ?? path
                report("\(where_): \(problem.message)", mapping.mark, about: about, invalid: about)
            }
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
