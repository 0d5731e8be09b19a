import ClusterConfig
import Foundation
import TestSupport
import Testing

/// DeletionPolicyValidator's findings against the original's own validator, fed the deletion policy its
/// model computes (its default for storage the cluster makes, none for storage that exists).
@Suite struct OracleStorageFindingsTests {
    static let storages: [String] = [
        "  - {Name: vol, StorageType: Ebs, MountDir: /vol, EbsSettings: {Size: 100}}",
        "  - {Name: vol, StorageType: Ebs, MountDir: /vol, EbsSettings: {VolumeId: vol-0123456789abcdef0}}",
        "  - {Name: vol, StorageType: Ebs, MountDir: /vol, EbsSettings: {Size: 100, DeletionPolicy: Retain}}",
        "  - {Name: vol, StorageType: Ebs, MountDir: /vol, EbsSettings: {Size: 100, DeletionPolicy: Snapshot}}",
        "  - {Name: vol, StorageType: Ebs, MountDir: /vol, EbsSettings: {VolumeId: vol-0123456789abcdef0, DeletionPolicy: Retain}}",
        "  - {Name: efs, StorageType: Efs, MountDir: /efs}",
        "  - {Name: efs, StorageType: Efs, MountDir: /efs, EfsSettings: {DeletionPolicy: Retain}}",
        "  - {Name: efs, StorageType: Efs, MountDir: /efs, EfsSettings: {FileSystemId: fs-0123456789abcdef0}}",
        "  - {Name: fsx, StorageType: FsxLustre, MountDir: /fsx, FsxLustreSettings: {StorageCapacity: 1200, DeploymentType: SCRATCH_2}}",
        "  - {Name: fsx, StorageType: FsxLustre, MountDir: /fsx, FsxLustreSettings: {StorageCapacity: 1200, DeletionPolicy: Retain}}",
        "  - {Name: fsx, StorageType: FsxLustre, MountDir: /fsx, FsxLustreSettings: {FileSystemId: fs-0123456789abcdef0}}",
        "  - {Name: a, StorageType: Ebs, MountDir: /a}\n  - {Name: b, StorageType: FsxLustre, MountDir: /b, FsxLustreSettings: {StorageCapacity: 2400}}",
    ]

    @Test(.enabled(if: OracleResponses.python != nil, "the original is not installed: run scripts/oracle/setup"))
    func deletionPolicyFindingsAreTheOriginals() async throws {
        let example = try String(contentsOf: TestPaths.repository.appendingPathComponent("examples/cluster.yaml"), encoding: .utf8)
        let marker = try #require(example.range(of: "SharedStorage:\n"))
        let base = String(example[..<marker.upperBound]).replacingOccurrences(of: "$SUBNET_ID", with: "subnet-0123456789abcdef0")
            .replacingOccurrences(of: "Os: alinux2\n", with: "Os: alinux2023\n")
        let configs = Self.storages.map { base + $0 + "\n" }
        let requests = try configs.map { (config: String) -> String in
            String(decoding: try JSONEncoder().encode(["config": config]), as: UTF8.self)
        }
        let answers = try await OracleResponses.answers(script: "storage_findings.py", lines: requests)
        try #require(answers.count == configs.count)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-findings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (index, (config, answer)) in zip(configs, answers).enumerated() {
            let theirs = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [[String]], "\(Self.storages[index]): \(answer)")
            let file = dir.appendingPathComponent("c\(index).yaml")
            try config.write(to: file, atomically: true, encoding: .utf8)
            let result = try ConfigValidation.validate(path: file.path, environment: [:], clusterName: "demo", region: "us-east-1")
            let mine = result.messages.filter { $0.type == "DeletionPolicyValidator" }
            let ours: [[String]] = mine.map { m in [m.level.description, m.type, m.message] }
            let byMessage = { (a: [String], b: [String]) -> Bool in a[2] < b[2] }
            #expect(ours.sorted(by: byMessage) == theirs.sorted(by: byMessage), "\(Self.storages[index])")
        }
    }
}
