import AWSCore
import AWSProvider
import ClusterConfig
import Foundation
import JSONOutput
import PClusterCLI
import Testing
import TestSupport

/// The cloud-backed validators against EC2 on a moto server on 127.0.0.1: the workshop config with a subnet
/// and key pair the test creates passes them; a missing subnet, a t3.micro with EFA and a missing key pair are
/// all reported by one `create-cluster --provider aws --dryrun true`.
struct CloudValidationTests {
    static let example = TestPaths.repository.appendingPathComponent("examples/cluster.yaml").path

    /// A VPC with one subnet and the workshop's key pair; returns the subnet id.
    static func network(_ moto: MotoServer.Running) async throws -> (subnet: String, otherVpcSubnet: String) {
        let ec2 = try AWSClient(service: .ec2, settings: moto.settings(), wireProtocol: .ec2Query(version: "2016-11-15"))
        func subnet(cidr: String) async throws -> String {
            let vpc = try await ec2.query("CreateVpc", [QueryItem("CidrBlock", cidr)], isIdempotent: false)
            let vpcId = try #require(vpc.path("vpc", "vpcId")?.text)
            let created = try await ec2.query("CreateSubnet", [QueryItem("VpcId", vpcId), QueryItem("CidrBlock", cidr)], isIdempotent: false)
            return try #require(created.path("subnet", "subnetId")?.text)
        }
        let first = try await subnet(cidr: "10.\(Int.random(in: 0...250)).0.0/16")
        let second = try await subnet(cidr: "10.\(Int.random(in: 0...250)).0.0/16")
        _ = try? await ec2.query("CreateKeyPair", [QueryItem("KeyName", "ws-default-keypair")], isIdempotent: false)
        return (first, second)
    }

    func environment(_ moto: MotoServer.Running, subnet: String, home: String) -> [String: String] {
        ["AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyId,
         "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey, "AWS_REGION": "us-east-1", "HOME": home,
         "PCLUSTER_STATE_DIR": home + "/state", "SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0"]
    }

    @Test func theWorkshopsNetworkAndKeyPairPass() async throws {
        let moto = try await MotoServer.shared.start()
        let (subnet, otherVpc) = try await Self.network(moto)
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
        let (document, _) = try ConfigLoader.parse(text: text, file: "cluster.yaml", environment: ["SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0"])
        let config = try #require(ConfigValidation.validate(document: document, clusterName: "demo", region: nil).config)
        let inventory = AWSResourceInventory(settings: moto.settings())
        let suppression = try ValidatorSuppression(arguments: ["type:ExistingFsxNetworkingValidator"])
        let messages = await ConfigValidation.validateResources(document: document, config: config, inventory: inventory, suppression: suppression)
        #expect(messages.isEmpty, "\(messages)")

        // The queue in another VPC than the head node: one finding, at the first subnet.
        let split = text.replacingOccurrences(of: "          - $SUBNET_ID", with: "          - \(otherVpc)")
        let (splitDocument, _) = try ConfigLoader.parse(text: split, file: "cluster.yaml", environment: ["SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0"])
        let splitConfig = try #require(ConfigValidation.validate(document: splitDocument, clusterName: "demo", region: nil).config)
        let splitMessages = await ConfigValidation.validateResources(document: splitDocument, config: splitConfig, inventory: inventory, suppression: suppression)
        #expect(splitMessages.map(\.type) == ["SubnetsValidator"])
        #expect(splitMessages.first?.message.contains("different VPCs") == true)
    }

    @Test func aMissingSubnetEFAOnT3MicroAndAMissingKeyPairAtOnce() async throws {
        let moto = try await MotoServer.shared.start()
        _ = try await Self.network(moto)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-aws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let broken = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "InstanceType: c6i.32xlarge", with: "InstanceType: t3.micro")
            .replacingOccurrences(of: "KeyName: ws-default-keypair", with: "KeyName: no-such-key")
        let file = home + "/cluster.yaml"
        try broken.write(toFile: file, atomically: true, encoding: .utf8)
        let result = PClusterCLI.run(["create-cluster", "-n", "demo", "-c", file, "--provider", "aws", "--dryrun", "true"],
                                     environment: environment(moto, subnet: "subnet-00000000000000bad", home: home))
        let json = try JSONValue.parse(result.stdout)
        #expect(json["message"] == "Invalid cluster configuration.")
        let errors = json["configurationValidationErrors"]?.arrayValue?.filter { $0["level"] == "ERROR" } ?? []
        let lines = broken.components(separatedBy: "\n")
        func line(_ needle: String) -> Int { (lines.firstIndex { $0.contains(needle) } ?? -1) + 1 }
        let located = Set(errors.compactMap { e -> String? in
            guard let type = e["type"]?.stringValue, let location = e["location"]?.stringValue else { return nil }
            return "\(type) \(location.split(separator: ":").dropFirst().first ?? "")"
        })
        #expect(located.contains("SubnetsValidator \(line("SubnetId: $SUBNET_ID"))"), "\(errors)")
        #expect(located.contains("SubnetsValidator \(line("- $SUBNET_ID"))"), "\(errors)")
        #expect(located.contains("KeyPairValidator \(line("KeyName: no-such-key"))"), "\(errors)")
        #expect(errors.contains { $0["type"] == "EfaValidator" }, "\(errors)")
    }
}
