import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct UpdateCluster: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "update-cluster", abstract: "Update a cluster managed in a given region.")

    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.")
    var clusterName: String
    @Option(name: [.customShort("c"), .customLong("cluster-configuration")], help: "Path to a file containing the cluster configuration.")
    var clusterConfiguration: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region that the operation corresponds to.")
    var region: String?
    @Option(name: .customLong("suppress-validators"), parsing: .upToNextOption, help: "Identifies one or more config validators to suppress.")
    var suppressValidators: [String] = []
    @Option(name: .customLong("validation-failure-level"), help: "Min validation level that will cause the update to fail.")
    var validationFailureLevel: FailureLevelArgument = .ERROR
    @Option(name: .long, help: "Only perform request validation without updating any resource (true|false).")
    var dryrun: BoolArgument?
    @Option(name: .customLong("force-update"), help: "Force update by ignoring the update validation errors (true|false).")
    var forceUpdate: BoolArgument?
    @Flag(name: .long, help: "Wait for the update to finish.")
    var wait = false
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        let provider: any ClusterProvider, record: ClusterRecord
        if let refusal = ClusterNameRule.refusal(clusterName) { return refusal }
        let requestRegion: String?
        switch RegionRule.fromConfig(flag: region, path: clusterConfiguration, env: env) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): requestRegion = found
        }
        switch await Providers.find(clusterName, env: env, region: requestRegion, command: Self.configuration.commandName ?? "") {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): (provider, record) = found
        }
        let request = ConfigRequest(
            path: clusterConfiguration, clusterName: clusterName, region: record.region,
            suppress: suppressValidators, failureLevel: validationFailureLevel.level,
            inventory: { [env] in Providers.inventory(record.provider, env: env, region: $0) })
        let result: ValidationResult, requested: ConfigDocument
        switch await request.run(in: env) {
        case .rejected(let outcome): return outcome
        case .accepted(let r, _, let d): (result, requested) = (r, d)
        }
        let currentURL = await provider.catalog.configurationURL(of: clusterName)
        let current: ConfigDocument
        do {
            guard let text = try await provider.catalog.configuration(of: clusterName) else {
                return .failure(
                    message:
                        "The configuration of cluster '\(clusterName)' is missing from \(currentURL); the cluster cannot be compared with the new one."
                )
            }
            current = try ConfigLoader.parse(text: text, file: "cluster-config.yaml (current)", environment: env.variables).0
        } catch {
            return .failure(message: "The configuration of cluster '\(clusterName)' cannot be read (\(error)); it is kept at \(currentURL).")
        }
        let conditions = UpdateConditions(computeFleetStopped: record.computeFleetStatus.isStopped)
        let changes = UpdatePlanner.plan(current: current, requested: requested, conditions: conditions)
        let changeSet: JSONValue = .array(
            changes.map { c in
                .object([
                    "parameter": .string(c.parameter), "currentValue": .string(PythonText.str(c.currentValue)),
                    "requestedValue": .string(PythonText.str(c.requestedValue)),
                    "updatePolicy": .string(c.policy.rawValue),
                ])
            })
        let blocked = changes.filter { $0.blockedReason != nil }
        if changes.isEmpty {
            var o: JSONObject = ["message": "No changes found in your cluster configuration."]
            o["validationMessages"] = validationMessagesField(result.messages)
            return .failure(.object(o))
        }
        if !blocked.isEmpty && forceUpdate?.value != true {
            var o: JSONObject = ["message": "Update failure"]
            o["validationMessages"] = validationMessagesField(result.messages)
            o["updateValidationErrors"] = .array(
                blocked.map { c in
                    var e: JSONObject = [
                        "parameter": .string(c.parameter), "currentValue": .string(PythonText.str(c.currentValue)),
                        "requestedValue": .string(PythonText.str(c.requestedValue)),
                        "message": .string(c.blockedReason!), "updatePolicy": .string(c.policy.rawValue),
                    ]
                    if let l = c.location { e["location"] = .string(l.description) }
                    return .object(e)
                })
            o["changeSet"] = changeSet
            return .failure(.object(o))
        }
        if dryrun?.value == true {
            var o: JSONObject = ["message": "Request would have succeeded, but DryRun flag is set."]
            o["validationMessages"] = validationMessagesField(result.messages)
            o["changeSet"] = changeSet
            return .failure(.object(o), status: 412)
        }
        guard let config = result.config else { return .failure(message: "Invalid cluster configuration.") }
        if let problem = provider.preconditions() { return .failure(message: problem) }
        let text: String
        do { text = try String(contentsOfFile: clusterConfiguration, encoding: .utf8) } catch {
            return .failure(message: "Cannot read \(clusterConfiguration): \(error.localizedDescription)")
        }
        _ = try await provider.catalog.update(clusterName) { $0.clusterStatus = .updateInProgress }
        let say = env.progress(of: clusterName, shown: wait)
        do {
            try await provider.update(name: clusterName, config: config, configuration: text, progress: say)
        } catch {
            let unrecorded = await Responses.statusNotRecorded { try await provider.catalog.update(clusterName) { $0.clusterStatus = .updateFailed } }
            return .failure(message: "Updating cluster '\(clusterName)' failed: \(error)\(unrecorded)", status: 500)
        }
        var updated = try await provider.catalog.update(clusterName) { $0.clusterStatus = .updateComplete } ?? record
        // As the original: once the wait is over, what describe-cluster says.
        if wait { return .ok(.object(await DescribeCluster.describe(updated, provider: provider))) }
        updated.clusterStatus = .updateInProgress
        var o: JSONObject = ["cluster": .object(clusterSummary(updated))]
        o["validationMessages"] = validationMessagesField(result.messages)
        o["changeSet"] = changeSet
        return .ok(.object(o))
    }
}
