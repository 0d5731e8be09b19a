import AWSCore
import Foundation

/// What the workshop's config needs of an AWS account, made in a moto server: a VPC and subnet, the
/// workshop's key pair and a ParallelCluster-named AMI owned by the test account (which
/// PCLUSTER_OFFICIAL_AMI_OWNER=self makes the official owner).
package struct WorkshopOnMoto: Sendable {
    package let moto: MotoServer.Running
    package let ec2: AWSClient
    package let subnet: String
    package let image: String

    package static func prepare(on server: MotoServer = .recording) async throws -> WorkshopOnMoto {
        let moto = try await server.start()
        let ec2 = try AWSClient(service: .ec2, settings: moto.settings(), wireProtocol: .ec2Query(version: "2016-11-15"))
        let cidr = "10.\(Int.random(in: 0...250)).0.0/16"
        guard let vpc = try await ec2.query("CreateVpc", [QueryItem("CidrBlock", cidr)], isIdempotent: false).path("vpc", "vpcId")?.text,
            let subnet = try await ec2.query("CreateSubnet", [QueryItem("VpcId", vpc), QueryItem("CidrBlock", cidr)], isIdempotent: false)
                .path("subnet", "subnetId")?.text,
            let base = try await ec2.query("DescribeImages").child("imagesSet")?.children("item").first?.string("imageId")
        else {
            throw TestSetupError(description: "moto did not make the VPC, subnet or base image")
        }
        _ = try? await ec2.query("CreateKeyPair", [QueryItem("KeyName", "ws-default-keypair")], isIdempotent: false)
        // With a client token, as the agent launches: moto, shared by the suites running side by side,
        // sometimes answers RunInstances with an internal error (twice in CI), and a call with a token may
        // be repeated.
        guard
            let builder = try await ec2.query(
                "RunInstances",
                [
                    QueryItem("ImageId", base), QueryItem("MinCount", "1"),
                    QueryItem("MaxCount", "1"), QueryItem("InstanceType", "t3.micro"),
                    QueryItem("ClientToken", UUID().uuidString),
                ],
                isIdempotent: true
            ).child("instancesSet")?.children("item").first?.string("instanceId"),
            let image = try await ec2.query(
                "CreateImage",
                [
                    QueryItem("InstanceId", builder),
                    QueryItem("Name", "aws-parallelcluster-3.16.1-amzn2-hvm-x86_64-\(UUID().uuidString.prefix(8))"),
                ],
                isIdempotent: false
            ).string("imageId")
        else {
            throw TestSetupError(description: "moto did not make the AMI")
        }
        _ = try await ec2.query("TerminateInstances", [QueryItem("InstanceId.1", builder)])
        return WorkshopOnMoto(moto: moto, ec2: ec2, subnet: subnet, image: image)
    }

    /// The environment of a user with PCLUSTER_PROVIDER=aws pointed at this moto server. The resource checks
    /// wait up to 120 s, not 15: the whole suite shares this moto server and these two cores.
    package func environment(home: String) -> [String: String] {
        [
            "PCLUSTER_RESOURCE_CHECK_TIMEOUT": "120",
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey, "AWS_REGION": "us-east-1", "HOME": home,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "PCLUSTER_PROVIDER": "aws", "PCLUSTER_OFFICIAL_AMI_OWNER": "self", "PCLUSTER_STATE_DIR": home + "/state",
            "SUBNET_ID": subnet, "FSX_FS_ID": "fs-0123456789abcdef0",
        ]
    }

    /// The workshop's config with two changes moto needs: a root volume size for the compute nodes (EC2 takes
    /// the AMI's, moto's RunInstances insists on one) and a named placement group (moto implements none, so
    /// a group the stack made would have no name there).
    package static func config(placementGroup: String) throws -> String {
        try String(contentsOfFile: TestPaths.repository.appendingPathComponent("examples/cluster.yaml").path, encoding: .utf8)
            .replacingOccurrences(
                of: "    - Name: c6i\n",
                with: "    - Name: c6i\n      ComputeSettings:\n        LocalStorage:\n          RootVolume:\n            Size: 40\n"
            )
            .replacingOccurrences(
                of: "        PlacementGroup:\n          Enabled: true\n",
                with: "        PlacementGroup:\n          Enabled: true\n          Name: \(placementGroup)\n")
    }

    /// The cluster's compute instances that run, by node name.
    package func computeInstances(cluster: String) async throws -> [String: (id: String, type: String, address: String)] {
        let answer = try await ec2.query(
            "DescribeInstances",
            [
                QueryItem("Filter.1.Name", "tag:parallelcluster:cluster-name"), QueryItem("Filter.1.Value.1", cluster),
                QueryItem("Filter.2.Name", "instance-state-name"), QueryItem("Filter.2.Value.1", "running"), QueryItem("Filter.2.Value.2", "pending"),
            ])
        var found: [String: (id: String, type: String, address: String)] = [:]
        for reservation in answer.child("reservationSet")?.children("item") ?? [] {
            for item in reservation.child("instancesSet")?.children("item") ?? [] {
                let tags = item.child("tagSet")?.children("item") ?? []
                guard let node = tags.first(where: { $0.string("key") == "parallelcluster:node-name" })?.string("value") else { continue }
                found[node] = (item.string("instanceId") ?? "", item.string("instanceType") ?? "", item.string("privateIpAddress") ?? "")
            }
        }
        return found
    }
}
