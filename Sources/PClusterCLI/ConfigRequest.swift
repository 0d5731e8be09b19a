import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

/// Shared by create-cluster and update-cluster: load, check and validate a config file.
struct ConfigRequest {
    var path: String
    var clusterName: String?
    var region: String?
    var suppress: [String]
    var failureLevel: ValidationLevel
    /// Where the resource validators ask whether what the config names exists (the chosen provider's), for
    /// the region asked for or else the config's.
    var inventory: (@Sendable (_ region: String?) -> (any ResourceInventory)?)? = nil

    enum Outcome {
        case rejected(CommandOutcome)
        case accepted(ValidationResult, ClusterConfiguration, ConfigDocument)
    }

    func run(in env: CommandEnvironment) async -> Outcome {
        let suppression: ValidatorSuppression
        do { suppression = try ValidatorSuppression(arguments: suppress) } catch {
            return .rejected(.failure(message: "Bad Request: \(error)"))
        }
        let result: ValidationResult
        do {
            result = try ConfigValidation.validate(
                path: path, environment: env.variables, clusterName: clusterName,
                region: region, suppression: suppression)
        } catch let e as ConfigFileError {
            let msg = ValidationMessage(
                level: .error, type: SchemaChecker.validatorName, message: e.reason,
                location: e.location ?? SourceLocation(file: e.file, line: 1, column: 1))
            return .rejected(
                .failure([
                    "message": .string("Invalid cluster configuration: \(e)"),
                    "configurationValidationErrors": [msg.json],
                ]))
        } catch {
            return .rejected(.failure(message: "Invalid cluster configuration: \(error)"))
        }
        var messages = result.messages
        if let config = result.config, let document = result.document, let inventory = inventory?(region ?? config.region) {
            // PCLUSTER_RESOURCE_CHECK_TIMEOUT (seconds; default 15): how long each resource check may wait for
            // the cloud's answer before it is reported as not checked.
            let timeout = env.variables["PCLUSTER_RESOURCE_CHECK_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 15
            let found = await ConfigValidation.validateResources(
                document: document, config: config, inventory: inventory,
                suppression: suppression, timeout: timeout)
            messages = ConfigValidation.sorted(messages + found)
        }
        // Our advice the original does not give never turns a config it accepts into a refused one.
        guard let config = result.config, let document = result.document,
            !messages.contains(where: { $0.level >= failureLevel && !Validators.advisory.contains($0.type) })
        else {
            return .rejected(
                .failure([
                    "message": "Invalid cluster configuration.",
                    "configurationValidationErrors": .array(messages.map(\.json)),
                ]))
        }
        var accepted = result
        accepted.messages = messages
        return .accepted(accepted, config, document)
    }
}

func validationMessagesField(_ messages: [ValidationMessage]) -> JSONValue? {
    messages.isEmpty ? nil : .array(messages.map(\.json))
}
