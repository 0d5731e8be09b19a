import AWSCore
import AWSProvider
import ClusterConfig
import Foundation
import JSONOutput
import PClusterCLI
import TestSupport
import Testing

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
        // moto loads its instance-type tables on the first question, which took over the validators'
        // 15 s under the suite's load once: asked here, without a limit, the validators get their answer.
        _ = try await ec2.query(
            "DescribeInstanceTypes", [QueryItem("InstanceType.1", "t3.micro"), QueryItem("InstanceType.2", "c6i.32xlarge")], isIdempotent: true)
        _ = try await ec2.query("DescribeInstanceTypeOfferings", [QueryItem("LocationType", "region")], isIdempotent: true)
        return (first, second)
    }

    func environment(_ moto: MotoServer.Running, subnet: String, home: String) -> [String: String] {
        [
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey, "AWS_REGION": "us-east-1", "HOME": home,
            "PCLUSTER_STATE_DIR": home + "/state", "SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0",
            // moto is shared by the whole suite: on a loaded machine an answer can take longer than 15 s.
            "PCLUSTER_RESOURCE_CHECK_TIMEOUT": "120",
        ]
    }

    @Test func theWorkshopsNetworkAndKeyPairPass() async throws {
        let moto = try await MotoServer.shared.start()
        let (subnet, otherVpc) = try await Self.network(moto)
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
        let (document, _) = try ConfigLoader.parse(
            text: text, file: "cluster.yaml", environment: ["SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0"])
        let config = try #require(ConfigValidation.validate(document: document, clusterName: "demo", region: nil).config)
        let inventory = AWSResourceInventory(settings: moto.settings())
        let suppression = try ValidatorSuppression(arguments: ["type:ExistingFsxNetworkingValidator"])
        let messages = await ConfigValidation.validateResources(
            document: document, config: config, inventory: inventory, suppression: suppression, timeout: 120)
        #expect(messages.isEmpty, "\(messages)")

        // The queue in another VPC than the head node: one finding, at the first subnet.
        let split = text.replacingOccurrences(of: "          - $SUBNET_ID", with: "          - \(otherVpc)")
        let (splitDocument, _) = try ConfigLoader.parse(
            text: split, file: "cluster.yaml", environment: ["SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0"])
        let splitConfig = try #require(ConfigValidation.validate(document: splitDocument, clusterName: "demo", region: nil).config)
        let splitMessages = await ConfigValidation.validateResources(
            document: splitDocument, config: splitConfig, inventory: inventory, suppression: suppression, timeout: 120)
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
        let result = await PClusterCLI.run(
            ["create-cluster", "-n", "demo", "-c", file, "--provider", "aws", "--dryrun", "true"],
            environment: environment(moto, subnet: "subnet-00000000000000bad", home: home))
        let json = try JSONValue.parse(result.stdout)
        #expect(json["message"] == "Invalid cluster configuration.")
        let errors = json["configurationValidationErrors"]?.arrayValue?.filter { $0["level"] == "ERROR" } ?? []
        let lines = broken.components(separatedBy: "\n")
        func line(_ needle: String) -> Int { (lines.firstIndex { $0.contains(needle) } ?? -1) + 1 }
        let located = Set(
            errors.compactMap { e -> String? in
                guard let type = e["type"]?.stringValue, let location = e["location"]?.stringValue else { return nil }
                return "\(type) \(location.split(separator: ":").dropFirst().first ?? "")"
            })
        #expect(located.contains("SubnetsValidator \(line("SubnetId: $SUBNET_ID"))"), "\(errors)")
        #expect(located.contains("SubnetsValidator \(line("- $SUBNET_ID"))"), "\(errors)")
        #expect(located.contains("KeyPairValidator \(line("KeyName: no-such-key"))"), "\(errors)")
        #expect(errors.contains { $0["type"] == "EfaValidator" }, "\(errors)")
        // EC2's own answer about t3.micro: no cluster placement groups either, said at its instance type.
        #expect(located.contains("InstanceTypeValidator \(line("InstanceType: t3.micro"))"), "\(errors)")
    }
}

/// The generated template as a stack on moto's CloudFormation: created to CREATE_COMPLETE with its
/// resources, then deleted.
struct TemplateStackTests {
    @Test func theWorkshopTemplateCreatesAStack() async throws {
        // The unchecked server: moto's signature check re-encodes form bodies its own way, and a template body
        // (quotes, `&`, newlines) then fails it although the request is right.
        let moto = try await MotoServer.unchecked.start()
        let ec2 = try AWSClient(service: .ec2, settings: moto.settings(), wireProtocol: .ec2Query(version: "2016-11-15"))
        let cidr = "10.\(Int.random(in: 0...250)).0.0/16"
        let vpc = try #require(try await ec2.query("CreateVpc", [QueryItem("CidrBlock", cidr)], isIdempotent: false).path("vpc", "vpcId")?.text)
        let subnet = try #require(
            try await ec2.query("CreateSubnet", [QueryItem("VpcId", vpc), QueryItem("CidrBlock", cidr)], isIdempotent: false)
                .path("subnet", "subnetId")?.text)
        let image = try #require(try await ec2.query("DescribeImages").child("imagesSet")?.children("item").first?.string("imageId"))

        let name = "stack\(UInt32.random(in: 0...UInt32.max))"
        // A root volume size for the compute nodes: EC2 takes the AMI's when none is given, moto's RunInstances
        // insists on one.
        let text = try String(contentsOfFile: CloudValidationTests.example, encoding: .utf8)
            .replacingOccurrences(
                of: "    - Name: c6i\n",
                with: "    - Name: c6i\n      ComputeSettings:\n        LocalStorage:\n          RootVolume:\n            Size: 40\n")
        let (document, _) = try ConfigLoader.parse(
            text: text, file: "cluster.yaml", environment: ["SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0"])
        let config = try #require(ConfigValidation.validate(document: document, clusterName: name, region: nil).config)
        let body = ClusterTemplate(clusterName: name, config: config, version: "3.16.1").render()

        let cfn = try AWSClient(service: .cloudFormation, settings: moto.settings(), wireProtocol: .query(version: "2010-05-15"))
        _ = try await cfn.query(
            "CreateStack",
            [
                QueryItem("StackName", name), QueryItem("TemplateBody", body), QueryItem("Capabilities.member.1", "CAPABILITY_IAM"),
                QueryItem("Parameters.member.1.ParameterKey", "VpcId"), QueryItem("Parameters.member.1.ParameterValue", vpc),
                QueryItem("Parameters.member.2.ParameterKey", "ImageId"), QueryItem("Parameters.member.2.ParameterValue", image),
                QueryItem("Parameters.member.3.ParameterKey", "ConfigBucket"), QueryItem("Parameters.member.3.ParameterValue", "config-bucket"),
                QueryItem("Tags.member.1.Key", "parallelcluster:version"), QueryItem("Tags.member.1.Value", "3.16.1"),
            ], isIdempotent: false)
        var status = ""
        for _ in 0..<100 {
            let stacks = try await cfn.query("DescribeStacks", [QueryItem("StackName", name)])
            status = stacks.path("DescribeStacksResult", "Stacks")?.children("member").first?.string("StackStatus") ?? ""
            if !status.hasSuffix("IN_PROGRESS") { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(status == "CREATE_COMPLETE")
        let resources =
            try await cfn.query("ListStackResources", [QueryItem("StackName", name)])
            .path("ListStackResourcesResult", "StackResourceSummaries")?.children("member") ?? []
        let types = Set(resources.compactMap { $0.string("ResourceType") })
        #expect(types.isSuperset(of: ["AWS::EC2::Instance", "AWS::EC2::LaunchTemplate", "AWS::EC2::SecurityGroup", "AWS::IAM::Role"]), "\(types)")
        // The head node instance runs, with the template's tags.
        let head = resources.first { $0.string("LogicalResourceId") == "HeadNode" }?.string("PhysicalResourceId")
        let instance = try await ec2.query("DescribeInstances", [QueryItem("InstanceId.1", try #require(head))])
            .child("reservationSet")?.children("item").first?.child("instancesSet")?.children("item").first
        #expect(instance?.string("instanceType") == "c6i.2xlarge")
        #expect(
            instance?.child("tagSet")?.children("item").contains { $0.string("key") == "parallelcluster:cluster-name" && $0.string("value") == name }
                == true)

        // A compute resource with several instance types launches through an instant fleet (CreateFleet) from its
        // launch template, one override per type and subnet; the node agent tags each instance with its node.
        let group = try #require(
            resources.first { ($0.string("LogicalResourceId") ?? "").hasPrefix("ComputeSecurityGroup") }?.string("PhysicalResourceId"))
        let fleet = try EC2Fleet(settings: moto.settings(), clusterName: name)
        let spec = ComputeLaunch(
            queue: "c6i", computeResource: "compute", instanceTypes: ["c6i.32xlarge", "c6in.32xlarge"],
            launchTemplateName: "\(name)-c6i-compute", subnetIds: [subnet], securityGroupIds: [group],
            efa: true, placementGroup: nil)
        let nodes = ["c6i-dy-compute-1", "c6i-dy-compute-2"]
        let outcome = try await fleet.launch(nodes, spec, allOrNothing: true)
        #expect(outcome.missing.isEmpty && outcome.launched.count == 2, "\(outcome)")
        let running = try await fleet.instances()
        #expect(Set(running.compactMap(\.nodeName)) == Set(nodes))
        #expect(running.allSatisfy { ["c6i.32xlarge", "c6in.32xlarge"].contains($0.instanceType) && $0.state == "running" }, "\(running)")
        let request = Dictionary(fleet.createFleetRequest(count: 2, spec, allOrNothing: true).queryItems.map { ($0.name, $0.value) }) { a, _ in a }
        #expect(request["OnDemandOptions.MinTargetCapacity"] == "2" && request["OnDemandOptions.SingleInstanceType"] == "true")
        #expect(request["LaunchTemplateConfigs.1.Overrides.2.InstanceType"] == "c6in.32xlarge")
        let bestEffort = Dictionary(fleet.createFleetRequest(count: 2, spec, allOrNothing: false).queryItems.map { ($0.name, $0.value) }) { a, _ in a
        }
        #expect(bestEffort["OnDemandOptions.MinTargetCapacity"] == nil && bestEffort["TargetCapacitySpecification.TotalTargetCapacity"] == "2")
        let terminated = try await fleet.terminate(nodes: nodes)
        #expect(Set(terminated) == Set(outcome.launched.values))
        #expect(try await fleet.instances().isEmpty)

        _ = try await cfn.query("DeleteStack", [QueryItem("StackName", name)], isIdempotent: false)
        var deleted = false
        for _ in 0..<100 where !deleted {
            let stacks = try? await cfn.query("DescribeStacks", [QueryItem("StackName", name)])
            let state = stacks?.path("DescribeStacksResult", "Stacks")?.children("member").first?.string("StackStatus")
            deleted = state == nil || state == "DELETE_COMPLETE"
            if !deleted { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(deleted)
    }
}
