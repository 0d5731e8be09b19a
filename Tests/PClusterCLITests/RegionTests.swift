import Foundation
import JSONOutput
import Provisioning
import Testing

@testable import PClusterCLI

/// Regions scope clusters as the original's CloudFormation stacks are scoped: a name is unique per region,
/// and a command finds only the cluster of the region it is for.
@Suite("Regions")
struct RegionTests {
    let cli = CLITests()

    func save(_ name: String, in region: String) throws {
        let now = Date()
        try ClusterStore(root: cli.stateDir).save(
            ClusterRecord(
                name: name, region: region, version: PClusterVersion.original, clusterStatus: .createComplete,
                computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now, provider: .local),
            configuration: "Region: \(region)\n")
    }

    /// The example config with another Region.
    func config(in region: String) throws -> String {
        let path = cli.stateDir.appendingPathComponent("cluster-\(region).yaml")
        let text = try String(contentsOfFile: CLITests.example, encoding: .utf8)
            .replacingOccurrences(of: "Region: us-east-1", with: "Region: \(region)")
        try text.write(toFile: path.path, atomically: true, encoding: .utf8)
        return path.path
    }

    @Test func aClusterIsFoundOnlyInItsRegion() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        try save("twin", in: "us-east-1")
        try save("twin", in: "eu-west-1")
        try save("solo", in: "eu-west-1")
        for region in ["us-east-1", "eu-west-1"] {
            let (byFlag, r) = try await cli.run("describe-cluster", "-n", "twin", "-r", region)
            #expect(r.exitCode == 0 && byFlag?["region"]?.stringValue == region, "\(r.stdout)")
            let (byEnvironment, _) = try await cli.run("describe-cluster", "-n", "twin", env: ["AWS_DEFAULT_REGION": region])
            #expect(byEnvironment?["region"]?.stringValue == region)
        }
        // Not in the region asked for: the original's not-found answer.
        let (elsewhere, r) = try await cli.run("describe-cluster", "-n", "solo", "-r", "us-east-1")
        #expect(r.exitCode == 1 && elsewhere?["message"]?.stringValue?.hasPrefix("Cluster 'solo' does not exist") == true)
        // With no region at all (a local user need not configure one), a name in one region is found, and a
        // name in two is refused with both regions named.
        let (solo, _) = try await cli.run("describe-cluster", "-n", "solo")
        #expect(solo?["region"] == "eu-west-1")
        let (ambiguous, ar) = try await cli.run("describe-cluster", "-n", "twin")
        #expect(ar.exitCode == 1)
        #expect(ambiguous?["message"]?.stringValue?.contains("exist in regions eu-west-1, us-east-1") == true, "\(ar.stdout)")
        let (listed, _) = try await cli.run("list-clusters", "-r", "eu-west-1", "--query", "clusters[*].clusterName")
        #expect(listed == ["solo", "twin"])
        let (everywhere, _) = try await cli.run("list-clusters", "--query", "length(clusters)")
        #expect(everywhere == 3)
        // Deleting one twin leaves the other.
        let (deleted, dr) = try await cli.run("delete-cluster", "-n", "twin", "-r", "eu-west-1")
        #expect(dr.exitCode == 0 && deleted?["cluster"]?["region"] == "eu-west-1", "\(dr.stdout)")
        let (left, _) = try await cli.run("describe-cluster", "-n", "twin")
        #expect(left?["region"] == "us-east-1")
    }

    @Test func namesAreUniquePerRegion() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        try save("taken", in: "us-east-1")
        let (same, _) = try await cli.run("create-cluster", "-n", "taken", "-c", CLITests.example, "--dryrun", "true")
        #expect(same?["message"]?.stringValue?.contains("already exists") == true, "\(same ?? nil)")
        let (other, _) = try await cli.run("create-cluster", "-n", "taken", "-c", try config(in: "eu-west-1"), "--dryrun", "true")
        #expect(other?["message"] == "Request would have succeeded, but DryRun flag is set.")
    }

    /// As the original's create and update: --region against the config's Region.
    @Test func aRegionFlagThatContradictsTheConfigIsRefused() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        let conflict: JSONValue = ["message": "Bad Request: region is set in both parameter and configuration and conflicts."]
        for command in ["create-cluster", "update-cluster"] {
            let (json, r) = try await cli.run(command, "-n", "abcde", "-c", CLITests.example, "-r", "eu-west-1", "--dryrun", "true")
            #expect(r.exitCode == 1 && json == conflict, "\(command): \(r.stdout)")
        }
        // The environment's region is not a parameter: the config's Region wins over it.
        let (json, _) = try await cli.run(
            "create-cluster", "-n", "abcde", "-c", CLITests.example, "--dryrun", "true", env: ["AWS_DEFAULT_REGION": "eu-west-1"])
        #expect(json?["message"] == "Request would have succeeded, but DryRun flag is set.")
    }

    /// Clusters made before regions scoped the store stay where they were and are found by their record.
    @Test func clustersOfTheEarlierLayoutAreStillFound() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        let old = cli.stateDir.appendingPathComponent("clusters/veteran")
        try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
        try save("scratch", in: "ap-south-1")
        let moved = cli.stateDir.appendingPathComponent("regions/ap-south-1/scratch")
        try FileManager.default.moveItem(
            at: moved.appendingPathComponent("cluster.json"), to: old.appendingPathComponent("cluster.json"))
        let text = try String(contentsOf: old.appendingPathComponent("cluster.json"), encoding: .utf8)
        try text.replacingOccurrences(of: "\"scratch\"", with: "\"veteran\"")
            .write(to: old.appendingPathComponent("cluster.json"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: moved)
        let (found, r) = try await cli.run("describe-cluster", "-n", "veteran", "-r", "ap-south-1")
        #expect(r.exitCode == 0 && found?["region"] == "ap-south-1", "\(r.stdout)")
        let (_, missing) = try await cli.run("describe-cluster", "-n", "veteran", "-r", "us-east-1")
        #expect(missing.exitCode == 1)
        let (_, deleted) = try await cli.run("delete-cluster", "-n", "veteran", "-r", "ap-south-1")
        #expect(deleted.exitCode == 0 && !FileManager.default.fileExists(atPath: old.path))
    }
}
