/// What validators see: the checked document, its model, instance-type facts and the request's
/// context. Findings are collected here with their positions.
public struct ValidationContext: Sendable {
    public let document: ConfigDocument
    public let config: ClusterConfiguration
    public let instanceTypes: any InstanceTypeProvider
    public let clusterName: String?
    /// The region the command runs in (--region, AWS_REGION, AWS_DEFAULT_REGION or the file's Region).
    public let region: String?

    public init(
        document: ConfigDocument, config: ClusterConfiguration, instanceTypes: any InstanceTypeProvider,
        clusterName: String?, region: String?
    ) {
        self.document = document
        self.config = config
        self.instanceTypes = instanceTypes
        self.clusterName = clusterName
        self.region = region
    }
}

/// Collects one validator's findings.
public struct FindingSink {
    let validator: String
    let document: ConfigDocument
    var invalidPaths: [ConfigPath] = []
    var messages: [ValidationMessage] = []

    public mutating func add(_ level: ValidationLevel, _ message: String, at path: ConfigPath) {
        // A value the schema rejected reads as its default; what a validator says about it would mislead.
        for bad in invalidPaths where bad.isRelated(to: path) { return }
        messages.append(ValidationMessage(level: level, type: validator, message: message, location: document.location(of: path)))
    }
}

/// A named validator. Names are the original's where it has one, so `--suppress-validators
/// type:Name` lines users already have keep working.
public struct Validator: Sendable {
    public let name: String
    let run: @Sendable (ValidationContext, inout FindingSink) -> Void

    public init(_ name: String, _ run: @escaping @Sendable (ValidationContext, inout FindingSink) -> Void) {
        self.name = name
        self.run = run
    }
}

/// Which validators to skip: `ALL`, or `type:Name` entries.
public struct ValidatorSuppression: Sendable {
    public var all = false
    public var names: Set<String> = []

    public init() {}

    /// Parses the CLI's `--suppress-validators` values; returns a problem for a malformed entry.
    public init(arguments: [String]) throws {
        for a in arguments {
            if a == "ALL" { all = true; continue }
            guard a.hasPrefix("type:"), a.count > 5 else {
                throw SuppressionError(value: a)
            }
            names.insert(String(a.dropFirst(5)))
        }
    }

    public func suppresses(_ name: String) -> Bool { all || names.contains(name) }

    public struct SuppressionError: Error, CustomStringConvertible {
        public let value: String
        public var description: String {
            "invalid --suppress-validators value '\(value)': use ALL or type:<ValidatorName>, e.g. type:EfaValidator"
        }
    }
}

public struct ValidationResult: Sendable {
    public var messages: [ValidationMessage]
    /// The model, when the file passed the schema check.
    public var config: ClusterConfiguration?
    public var document: ConfigDocument?

    public func failures(at level: ValidationLevel) -> [ValidationMessage] { messages.filter { $0.level >= level } }
}

public enum ConfigValidation {
    /// Loads, schema-checks and validates a config file. Schema problems (which leave no model)
    /// are reported together; when the schema holds, every validator runs and all findings return.
    public static func validate(
        path: String, environment: [String: String], clusterName: String?, region: String?,
        suppression: ValidatorSuppression = ValidatorSuppression(),
        instanceTypes: any InstanceTypeProvider = InstanceTypeCatalogue.shipped
    ) throws -> ValidationResult {
        let (document, expansion) = try ConfigLoader.read(path: path, environment: environment)
        return validate(
            document: document, expansionFindings: expansion, clusterName: clusterName, region: region,
            suppression: suppression, instanceTypes: instanceTypes)
    }

    public static func validate(
        document: ConfigDocument, expansionFindings: [ValidationMessage] = [], clusterName: String?, region: String?,
        suppression: ValidatorSuppression = ValidatorSuppression(),
        instanceTypes: any InstanceTypeProvider = InstanceTypeCatalogue.shipped
    ) -> ValidationResult {
        var messages = expansionFindings
        let schema = SchemaChecker.check(document, against: ClusterSchema.cluster)
        // An unset variable already explains why its value is malformed: one message per spot.
        let expansionLines = Set(expansionFindings.compactMap { $0.location?.line })
        messages += schema.findings.filter { f in !(f.location.map { expansionLines.contains($0.line) } ?? false) }
        // Validators run even when the schema found problems, so every finding comes at once;
        // the model reader falls back to defaults where a value was rejected.
        let config = ClusterConfiguration(checked: document)
        let context = ValidationContext(
            document: document, config: config, instanceTypes: instanceTypes,
            clusterName: clusterName, region: region ?? config.region)
        for validator in Validators.all where !suppression.suppresses(validator.name) {
            var sink = FindingSink(validator: validator.name, document: document, invalidPaths: schema.invalidPaths)
            validator.run(context, &sink)
            messages += sink.messages
        }
        let schemaValid = !messages.contains { $0.type == SchemaChecker.validatorName && $0.level == .error }
        return ValidationResult(messages: sorted(messages), config: schemaValid ? config : nil, document: document)
    }

    /// File order, so users read findings top to bottom; the most severe first on the same spot.
    public static func sorted(_ m: [ValidationMessage]) -> [ValidationMessage] {
        m.enumerated().sorted { a, b in
            let la = a.element.location, lb = b.element.location
            if let la, let lb, la.line != lb.line { return la.line < lb.line }
            if let la, let lb, la.column != lb.column { return la.column < lb.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}
