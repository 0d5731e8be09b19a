import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

/// Chooses the cluster provider for a record or a create request. Only this type knows the concrete
/// providers; commands work through `ClusterProvider`.
enum Providers {
    /// The provider of a kind.
    static func named(_ kind: ProviderKind, env: CommandEnvironment, region: String? = nil) -> any ClusterProvider {
        env.providers.provider(kind, environment: env.variables, store: env.store, region: region)
    }

    /// The kind --provider or PCLUSTER_PROVIDER names (local when neither is given).
    static func selectedKind(_ env: CommandEnvironment, flag: String? = nil) throws -> ProviderKind {
        let name = flag ?? env.variables["PCLUSTER_PROVIDER"] ?? "local"
        guard let kind = ProviderKind(name: name) else {
            throw ProviderChoiceError(name: name, source: flag == nil ? "PCLUSTER_PROVIDER" : "--provider")
        }
        return kind
    }

    /// The provider the commands work with: PCLUSTER_PROVIDER, else local. Clusters are looked up in that
    /// provider's catalog (the local store, or CloudFormation for aws).
    static func selected(_ env: CommandEnvironment, region: String?) throws -> any ClusterProvider {
        named(try selectedKind(env), env: env, region: region)
    }

    /// A command's answer when the cluster cannot be found (or asked for).
    struct Refusal: Error {
        let outcome: CommandOutcome
    }

    /// The selected provider and its record of the cluster, or the command's answer why not.
    static func find(
        _ name: String, env: CommandEnvironment, region: String?, command: String
    ) async -> Result<(any ClusterProvider, ClusterRecord), Refusal> {
        if let refusal = ClusterNameRule.refusal(name) ?? RegionRule.refusal(env.region(region)) { return .failure(Refusal(outcome: refusal)) }
        do {
            let provider = try selected(env, region: env.region(region))
            guard let record = try await provider.catalog.record(named: name) else {
                return .failure(Refusal(outcome: Responses.notFound(name, command: command)))
            }
            return .success((provider, record))
        } catch {
            return .failure(Refusal(outcome: .failure(message: "\(error)", status: 500)))
        }
    }

    struct ProviderChoiceError: Error, CustomStringConvertible {
        let name: String
        let source: String
        var description: String { "Bad Request: unknown provider '\(name)' in \(source); use local or aws." }
    }

    /// What the provider's resource validators ask (nil: none for this provider yet).
    static func inventory(_ kind: ProviderKind, env: CommandEnvironment, region: String?) -> (any ResourceInventory)? {
        env.providers.inventory(kind, environment: env.variables, region: region)
    }

    static var iso: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }

    static func instanceJSON(_ instance: ProvisionedInstance) -> JSONObject {
        var o: JSONObject = [
            "instanceId": .string(instance.instanceId), "instanceType": .string(instance.instanceType),
            "launchTime": .string(iso.string(from: instance.launchTime)),
            "privateIpAddress": .string(instance.privateIpAddress),
        ]
        if let ip = instance.publicIpAddress { o["publicIpAddress"] = .string(ip) }
        o["state"] = .string(instance.state)
        o["nodeType"] = .string(instance.nodeType)
        if let queue = instance.queueName { o["queueName"] = .string(queue) }
        return o
    }

    /// describe-cluster's headNode and failures.
    static func describe(_ record: ClusterRecord, provider: any ClusterProvider) async -> (head: JSONObject?, failures: [JSONValue]) {
        var head = await provider.instances(of: record.name).first { $0.nodeType == "HeadNode" }.map(instanceJSON)
        head?["nodeType"] = nil
        var failures: [JSONValue] = []
        if record.clusterStatus == .createFailed || record.clusterStatus == .updateFailed {
            await failures.append([
                "failureCode": "ClusterCreationFailure",
                "failureReason": .string(provider.creationFailure(of: record.name) ?? "see `pcluster get-cluster-stack-events -n \(record.name)`"),
            ])
        } else if !record.clusterStatus.isDeleting {
            for problem in await provider.headNodeProblems(of: record.name) {
                failures.append([
                    "failureCode": "HeadNodeDown",
                    "failureReason": .string("\(problem); `pcluster update-compute-fleet -n \(record.name) --status START_REQUESTED` restarts it"),
                ])
            }
        }
        return (head, failures)
    }
}

/// The API's pattern for cluster names, which the original checks on every request before anything
/// else (so no `--suppress-validators` reaches it), with its message.
enum ClusterNameRule {
    static let pattern = "^[a-zA-Z][a-zA-Z0-9-]+$"

    static func refusal(_ name: String) -> CommandOutcome? {
        let scalars = Array(name.unicodeScalars)
        let letter = { (c: Unicode.Scalar) in ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        let valid =
            scalars.count >= 2 && letter(scalars[0])
            && scalars.dropFirst().allSatisfy { letter($0) || ("0"..."9").contains($0) || $0 == "-" }
        return valid ? nil : .failure(message: "Bad Request: '\(name)' does not match '\(pattern)' - 'cluster-name'")
    }
}

/// The original refuses a region it does not support before anything else, in its words.
enum RegionRule {
    /// The region of a create or update request, as the original chooses it: --region, else the config's
    /// Region, else the AWS configuration's; --region and a different Region in the config are refused.
    /// A config that cannot be read gives no Region here (its validation says why).
    static func fromConfig(flag: String?, path: String, env: CommandEnvironment) -> Result<String?, Providers.Refusal> {
        let text = try? String(contentsOfFile: path, encoding: .utf8)
        let document = text.flatMap { try? ConfigLoader.parse(text: $0, file: path, environment: env.variables).0 }
        let fileRegion = document?.root["Region"]?.string
        if let flag, let fileRegion, flag != fileRegion {
            return .failure(
                Providers.Refusal(outcome: .failure(message: "Bad Request: region is set in both parameter and configuration and conflicts.")))
        }
        let region = flag ?? fileRegion ?? env.region(nil)
        if let refusal = refusal(region) { return .failure(Providers.Refusal(outcome: refusal)) }
        return .success(region)
    }

    static func refusal(_ region: String?) -> CommandOutcome? {
        guard let region, !Validators.knownRegions.contains(region) else { return nil }
        return .failure(message: "Bad Request: invalid or unsupported region '\(region)'")
    }
}
