/// Where something is in a config file. Lines and columns are 1-based, counted in Unicode scalars
/// as libyaml counts them.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// The severity levels of the original, in order.
public enum ValidationLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case info = 0, warning, error

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .info: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        }
    }

    public init?(name: String) {
        switch name.uppercased() {
        case "INFO": self = .info
        case "WARNING": self = .warning
        case "ERROR": self = .error
        default: return nil
        }
    }
}

/// One finding of schema checking or of a validator, in the original's shape
/// (`level`, `type`, `message`) plus the place in the file it is about.
public struct ValidationMessage: Sendable, Hashable, CustomStringConvertible {
    public var level: ValidationLevel
    /// The validator's name, e.g. `EfaValidator`; `ConfigSchemaValidator` for schema problems.
    public var type: String
    public var message: String
    public var location: SourceLocation?
    /// The field the finding is about, when there is one: the key of an unknown or missing field,
    /// the object of a rule between fields. Not printed; tests compare it with the original's paths.
    public var path: ConfigPath?

    public init(
        level: ValidationLevel, type: String, message: String, location: SourceLocation? = nil, path: ConfigPath? = nil
    ) {
        self.level = level
        self.type = type
        self.message = message
        self.location = location
        self.path = path
    }

    public var description: String {
        let place = location.map { "\($0): " } ?? ""
        return "\(place)\(level) [\(type)] \(message)"
    }
}

/// A path into the config, e.g. `Scheduling.SlurmQueues[0].ComputeResources[1].MaxCount`.
public struct ConfigPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    public static let root = ConfigPath()

    public func appending(_ key: String) -> ConfigPath { ConfigPath(components + [.key(key)]) }
    public func appending(_ index: Int) -> ConfigPath { ConfigPath(components + [.index(index)]) }
    public static func / (p: ConfigPath, key: String) -> ConfigPath { p.appending(key) }
    public static func / (p: ConfigPath, index: Int) -> ConfigPath { p.appending(index) }

    /// True when one path contains the other (or they are equal).
    public func isRelated(to other: ConfigPath) -> Bool {
        let n = min(components.count, other.components.count)
        return Array(components.prefix(n)) == Array(other.components.prefix(n))
    }

    public var description: String {
        var s = ""
        for c in components {
            switch c {
            case .key(let k): s += s.isEmpty ? k : ".\(k)"
            case .index(let i): s += "[\(i)]"
            }
        }
        return s.isEmpty ? "(top level)" : s
    }
}
