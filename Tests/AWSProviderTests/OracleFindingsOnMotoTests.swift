import ClusterConfig
import Foundation
import JSONOutput
import PClusterCLI
import TestSupport
import Testing

/// The findings of a dry run, ours (the AWS provider) and the original's, against the same moto account:
/// the same validators, levels and messages, except where moto itself is the difference.
struct OracleFindingsOnMotoTests {
    /// What the original reports only because moto lacks something real AWS has: AWS-managed IAM policies,
    /// launch-template dry runs with EBS, a key pair's KeyType.
    static let motoArtifacts: Set<String> = [
        "AdditionalIamPolicyValidator", "HeadNodeLaunchTemplateValidator", "ComputeResourceLaunchTemplateValidator", "KeyPairValidator",
    ]

    @Test(.enabled(if: OracleResponses.python != nil, "the original is not installed: run scripts/oracle/setup"))
    func aDryRunFindsWhatTheOriginalFinds() async throws {
        let account = try await WorkshopOnMoto.prepare()
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-findings-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = account.environment(home: home)
        // A custom AMI (the original then needs no official one) without pcluster's tags, and storage the
        // cluster would make: the AMI, tag and deletion-policy validators all have something to say.
        // The workshop's own placement group (no Name: moto has no placement groups to describe).
        let config = try String(contentsOfFile: TestPaths.repository.appendingPathComponent("examples/cluster.yaml").path, encoding: .utf8)
            .replacingOccurrences(of: "Image:\n  Os: alinux2\n", with: "Image:\n  Os: alinux2023\n  CustomAmi: \(account.image)\n")
            .replacingOccurrences(of: "      FileSystemId: $FSX_FS_ID\n", with: "      StorageCapacity: 1200\n      DeploymentType: SCRATCH_2\n")
            .replacingOccurrences(of: "$SUBNET_ID", with: account.subnet)
            // Slurm accounting with a URI without port (INFO) and a password secret that does not exist (ERROR).
            .replacingOccurrences(
                of: "  Scheduler: slurm\n",
                with: """
                      Scheduler: slurm
                      SlurmSettings:
                        Database:
                          Uri: db.example.com
                          UserName: slurm
                          PasswordSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf

                    """)
        #expect(config.contains("CustomAmi: ") && config.contains("StorageCapacity: 1200") && config.contains("Database:"))
        let file = home + "/cluster.yaml"
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        let arguments = ["create-cluster", "-n", "findings", "-c", file, "--dryrun", "true"]

        let ours = await PClusterCLI.run(arguments, environment: env)
        let python = try #require(OracleResponses.python)
        let originalTool = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("pcluster").path
        let originalEnvironment = [
            "AWS_ENDPOINT_URL": account.moto.endpoint, "AWS_ACCESS_KEY_ID": account.moto.credentials.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": account.moto.credentials.secretAccessKey, "AWS_DEFAULT_REGION": "us-east-1", "HOME": home,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let theirs = try await runCommand([originalTool] + arguments, environment: originalEnvironment)

        func findings(_ text: String) throws -> Set<String> {
            let json = try JSONValue.parse(text)
            let list = json["validationMessages"]?.arrayValue ?? json["configurationValidationErrors"]?.arrayValue ?? []
            return Set(
                list.compactMap { m -> String? in
                    guard let type = m["type"]?.stringValue, !Self.motoArtifacts.contains(type), !Validators.advisory.contains(type) else {
                        return nil
                    }
                    return "\(m["level"]?.stringValue ?? "") \(type): \(m["message"]?.stringValue ?? "")"
                })
        }
        var mine = try findings(ours.stdout)
        let original = try findings(String(decoding: theirs.stdout, as: UTF8.self))
        // The original's one bug here (README, compatibility notes): it means to refuse a password secret that
        // does not exist, but compares Secrets Manager's error code with one the service never sends, so it
        // only warns that it could not check. We refuse it, as it meant to.
        let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"
        let refused = "ERROR PasswordSecretArnValidator: The secret \(secret) does not exist."
        #expect(mine.contains(refused))
        if mine.remove(refused) != nil {
            mine.insert(
                "WARNING PasswordSecretArnValidator: Cannot validate secret \(secret). Please refer to ParallelCluster official documentation for more information."
            )
        }
        #expect(!original.isEmpty, "\(theirs.stderr)")
        #expect(mine == original, "ours only: \(mine.subtracting(original).sorted())\ntheirs only: \(original.subtracting(mine).sorted())")
    }
}
