import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct CreateCluster: PClusterCommand {
    static let configuration = CommandConfiguration(commandName: "create-cluster", abstract: "Create a managed cluster in a given region.")

    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster that will be created.")
    var clusterName: String
    @Option(name: [.customShort("c"), .customLong("cluster-configuration")], help: "Path to a file containing the cluster configuration.")
    var clusterConfiguration: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region that the operation corresponds to.")
    var region: String?
    @Option(
        name: .customLong("suppress-validators"), parsing: .upToNextOption,
        help: "Identifies one or more config validators to suppress (ALL or type:<ValidatorName>).")
    var suppressValidators: [String] = []
    @Option(name: .customLong("validation-failure-level"), help: "Min validation level that will cause the creation to fail (INFO, WARNING, ERROR).")
    var validationFailureLevel: FailureLevelArgument = .ERROR
    @Option(name: .long, help: "Only perform request validation without creating any resource (true|false).")
    var dryrun: BoolArgument?
    @Option(name: .customLong("rollback-on-failure"), help: "Automatically initiate a cluster stack rollback on failures (true|false).")
    var rollbackOnFailure: BoolArgument?
    @Flag(name: .long, help: "Wait for the cluster to be created and report progress on stderr.")
    var wait = false
    @Option(name: .long, help: "Where the cluster runs: local (this machine, the default) or aws. Also PCLUSTER_PROVIDER.")
    var provider: String?
    @Option(
        name: .customLong("template-output"),
        help: "With --dryrun true: write the cluster's CloudFormation template (the AWS provider's stack) to this file.")
    var templateOutput: String?
    @OptionGroup var common: CommonOptions

    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        if let refusal = ClusterNameRule.refusal(clusterName) { return refusal }
        let chosen: ProviderKind
        do { chosen = try Providers.selectedKind(env, flag: provider) } catch { return .failure(message: "\(error)") }
        // A local cluster needs no AWS configuration: without any region it goes to the default one.
        let clusterRegion: String?
        switch RegionRule.fromConfig(flag: region, path: clusterConfiguration, env: env) {
        case .failure(let refusal): return refusal.outcome
        case .success(let found): clusterRegion = found ?? (chosen == .local ? ClusterRecord.defaultRegion : nil)
        }
        if templateOutput != nil && dryrun?.value != true {
            return .failure(message: "Bad Request: --template-output goes with --dryrun true.")
        }
        let request = ConfigRequest(
            path: clusterConfiguration, clusterName: clusterName, region: clusterRegion,
            suppress: suppressValidators, failureLevel: validationFailureLevel.level,
            inventory: { [env] in Providers.inventory(chosen, env: env, region: $0) })
        let result: ValidationResult
        switch await request.run(in: env) {
        case .rejected(let outcome): return outcome
        case .accepted(let r, _, _): result = r
        }
        let chosenProvider = Providers.named(chosen, env: env, region: clusterRegion)
        if chosenProvider.catalogIsOffline || dryrun?.value != true {
            do {
                if try await chosenProvider.catalog.record(named: clusterName) != nil {
                    return .failure(message: "Cluster '\(clusterName)' already exists; choose another name or delete it first.", status: 409)
                }
            } catch {
                return .failure(message: "Cannot tell whether cluster '\(clusterName)' exists: \(error)")
            }
        }
        if dryrun?.value == true {
            if let templateOutput, let config = result.config {
                do {
                    try env.providers.cloudFormationTemplate(clusterName: clusterName, config: config)
                        .write(toFile: templateOutput, atomically: true, encoding: .utf8)
                } catch {
                    return .failure(message: "Cannot write the template to \(templateOutput): \(error.localizedDescription)")
                }
            }
            var o: JSONObject = ["message": "Request would have succeeded, but DryRun flag is set."]
            o["validationMessages"] = validationMessagesField(result.messages)
            return .failure(.object(o), status: 412)
        }
        return try await create(with: chosenProvider, env: env, result: result, region: clusterRegion)
    }
}

extension CreateCluster {
    func create(with provider: any ClusterProvider, env: CommandEnvironment, result: ValidationResult, region: String?) async throws -> CommandOutcome
    {
        if let problem = provider.preconditions() { return .failure(message: problem) }
        guard let config = result.config else { return .failure(message: "Invalid cluster configuration.") }
        let text: String
        do { text = try String(contentsOfFile: clusterConfiguration, encoding: .utf8) } catch {
            return .failure(message: "Cannot read \(clusterConfiguration): \(error.localizedDescription)")
        }
        let now = Date()
        var record = ClusterRecord(
            name: clusterName, region: region ?? config.region ?? ClusterRecord.defaultRegion,
            version: PClusterVersion.original, clusterStatus: .createInProgress,
            computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now,
            provider: provider.kind)
        // The tags the original's stack carries, which describe-cluster lists: the config's and its version.
        record.tags = Dictionary(config.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            .merging(["parallelcluster:version": PClusterVersion.original]) { $1 }
        let say = env.progress(of: clusterName, shown: wait)
        do {
            try await provider.create(
                name: clusterName, config: config, configuration: text, record: record,
                rollbackOnFailure: rollbackOnFailure?.value ?? true, progress: say)
        } catch {
            let kept = (try? await provider.catalog.record(named: clusterName)) != nil
            return .failure(
                message: "Cluster creation failed: \(error)."
                    + (kept
                        ? " The cluster is CREATE_FAILED and nothing of it is running; `pcluster delete-cluster -n \(clusterName)` removes what is left."
                        : " Nothing of it was made."),
                status: 500)
        }
        var current = (try? await provider.catalog.record(named: clusterName)).flatMap { $0 } ?? record
        if wait {
            // An AWS stack takes minutes; a local cluster seconds. Polls start fast and slow down.
            let polling = provider.creationPolling
            let deadline = Date().addingTimeInterval(polling.timeout)
            var shown = ""
            var delay = polling.first
            while Date() < deadline {
                current = (try await provider.catalog.record(named: clusterName)) ?? current
                if current.clusterStatus.rawValue != shown {
                    say("cluster status: \(current.clusterStatus.rawValue)"); shown = current.clusterStatus.rawValue
                }
                if current.clusterStatus != .createInProgress { break }
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = polling.next(after: delay)
            }
            // The status alone leaves the user to go looking; the first failure says why.
            if current.clusterStatus == .createFailed, let reason = await provider.creationFailure(of: clusterName) {
                say("why: \(reason)")
            }
        }
        if wait {
            // As the original: once the wait is over, what describe-cluster says (an error if it failed).
            let described = JSONValue.object(await DescribeCluster.describe(current, provider: provider))
            return current.clusterStatus == .createComplete ? .ok(described) : .failure(described)
        }
        var o: JSONObject = ["cluster": .object(clusterSummary(current))]
        o["validationMessages"] = validationMessagesField(result.messages)
        return current.clusterStatus == .createFailed ? .failure(.object(o)) : .ok(.object(o))
    }
}
