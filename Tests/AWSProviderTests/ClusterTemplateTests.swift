import AWSProvider
import ClusterConfig
import Foundation
import JSONOutput
import TestSupport
import Testing

/// The CloudFormation template of the workshop's config: the same bytes every time, `cfn-lint` without
/// errors, and the pieces the config asks for (SSH and DCV from AllowedIps, the cluster's own traffic, EFA's
/// self-referencing rules, IAM policies, the placement group, IMDS, tags).
struct ClusterTemplateTests {
    static let example = TestPaths.repository.appendingPathComponent("examples/cluster.yaml").path

    func template(_ text: String? = nil) throws -> ClusterTemplate {
        let yaml = try text ?? String(contentsOfFile: Self.example, encoding: .utf8)
        let (document, _) = try ConfigLoader.parse(
            text: yaml, file: "cluster.yaml",
            environment: ["SUBNET_ID": "subnet-0123456789abcdef0", "FSX_FS_ID": "fs-0123456789abcdef0"])
        let result = ConfigValidation.validate(document: document, clusterName: "demo", region: nil)
        let config = try #require(result.config)
        return ClusterTemplate(clusterName: "demo", config: config, version: "3.16.1")
    }

    @Test func sameConfigSameBytes() async throws {
        let first = try template().render()
        let second = try template().render()
        #expect(first == second)
        #expect(first.utf8.count > 1000)
    }

    @Test func cfnLintFindsNoErrors() async throws {
        guard which("cfn-lint") != nil else {
            Issue.record("cfn-lint is not installed")
            return
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-template-\(UUID().uuidString).json").path
        defer { unlink(file) }
        try template().render().write(toFile: file, atomically: true, encoding: .utf8)
        let lint = try await runCommand(["cfn-lint", "--regions", "us-east-1", "--", file])
        let output = String(decoding: lint.stdout, as: UTF8.self) + lint.stderr
        // cfn-lint's exit status is a bit set: 2 = errors, 4 = warnings, 8 = informational.
        #expect(lint.status & 2 == 0 && lint.status & 1 == 0, "\(output)")
    }

    /// Both boot scripts are valid bash once CloudFormation has filled in its `${...}` (Fn::Sub): what bash
    /// itself says with `-n`, with each substitution replaced by a plain word and `${!name}` by `${name}`.
    @Test func theBootScriptsAreValidBash() async throws {
        let resources = try #require(try template().document()["Resources"]?.objectValue)
        let scripts = resources.entries.compactMap {
            $0.value["Properties"]?["LaunchTemplateData"]?["UserData"]?["Fn::Base64"]?["Fn::Sub"]?.stringValue
        }
        #expect(scripts.count == 2)
        for script in scripts {
            let filled = script.replacingOccurrences(of: #"\$\{(AWS::[A-Za-z]+|[A-Za-z]+)\}"#, with: "filled", options: .regularExpression)
                .replacingOccurrences(of: "${!", with: "${")
            let checked = try await runCommand(["/bin/bash", "-n"], input: Data(filled.utf8))
            #expect(checked.status == 0, "\(checked.stderr)\n\(filled)")
        }
        let head = try #require(scripts.first { $0.contains("pcluster-agent bootstrap") })
        #expect(head.contains("--start --publish-munge-key") && head.hasSuffix("signal SUCCESS \"head node ready\"\n"))
        #expect(resources["HeadNodeWaitCondition"]?["Properties"]?["Handle"] == ["Ref": "HeadNodeWaitConditionHandle"])
        // Pinned to the first version: an update of the launch template never replaces the running head node.
        #expect(resources["HeadNode"]?["Properties"]?["LaunchTemplate"]?["Version"] == "1")
        let compute = try #require(scripts.first { $0.contains("slurmd --conf-server") })
        #expect(compute.contains("parallelcluster:node-name") && compute.contains("munge.key"))
        // Jobs see the shared storage on every node: both scripts mount /fsx.
        #expect(head.contains("mount -t lustre") && compute.contains("mount -t lustre") && compute.contains(" /fsx"))
    }

    /// With SlurmSettings.Database the head node, and it alone, may read the password's secret.
    @Test func theDatabasePasswordIsReadableByTheHeadNodeAlone() async throws {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slurmdb-AbCdEf"
        let yaml = try String(contentsOfFile: Self.example, encoding: .utf8).replacingOccurrences(
            of: "  Scheduler: slurm\n",
            with:
                "  Scheduler: slurm\n  SlurmSettings:\n    Database:\n      Uri: db.example.com:3306\n      UserName: slurm\n      PasswordSecretArn: \(arn)\n"
        )
        let resources = try #require(try template(yaml).document()["Resources"]?.objectValue)
        func statements(_ role: String) -> [JSONValue] {
            (resources[role]?["Properties"]?["Policies"]?.arrayValue ?? []).flatMap { $0["PolicyDocument"]?["Statement"]?.arrayValue ?? [] }
        }
        let reads = { (role: String) in
            statements(role).filter { $0["Action"]?.arrayValue?.contains("secretsmanager:GetSecretValue") == true }
        }
        #expect(reads("HeadNodeRole").map { $0["Resource"] } == [.string(arn)])
        #expect(resources.keys.filter { $0.hasPrefix("ComputeRole") }.allSatisfy { reads($0).isEmpty })
        #expect(try !template().render().contains("secretsmanager"))
    }

    @Test func whatTheWorkshopConfigAsksFor() async throws {
        let document = try template().document()
        let resources = try #require(document["Resources"]?.objectValue)
        // SSH and DCV from AllowedIps on the head node.
        let ingress = resources["HeadNodeSecurityGroup"]?["Properties"]?["SecurityGroupIngress"]?.arrayValue ?? []
        #expect(ingress.contains { $0["FromPort"] == 22 && $0["CidrIp"] == "0.0.0.0/0" })
        #expect(ingress.contains { $0["FromPort"] == 8443 && $0["ToPort"] == 8443 && $0["CidrIp"] == "0.0.0.0/0" })
        // All traffic inside the cluster, and EFA's rule to the group itself in both directions.
        #expect(resources["ComputeIngressFromCompute"]?["Properties"]?["SourceSecurityGroupId"] == ["Ref": "ComputeSecurityGroup"])
        #expect(resources["ComputeEgressToCompute"]?["Properties"]?["DestinationSecurityGroupId"] == ["Ref": "ComputeSecurityGroup"])
        #expect(resources["HeadNodeIngressFromCompute"] != nil && resources["ComputeIngressFromHeadNode"] != nil)
        // The head node's role has the config's AdditionalIamPolicies.
        let arns = resources["HeadNodeRole"]?["Properties"]?["ManagedPolicyArns"]?.arrayValue ?? []
        #expect(
            arns.contains("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess") && arns.contains("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"))
        // One launch template for c6i/compute: EFA interface, the queue's placement group, the instance type.
        let templates = resources.entries.filter { $0.value["Type"] == "AWS::EC2::LaunchTemplate" && $0.key != "HeadNodeLaunchTemplate" }
        #expect(templates.count == 1)
        let data = try #require(templates.first?.value["Properties"]?["LaunchTemplateData"])
        #expect(data["InstanceType"] == "c6i.32xlarge")
        #expect(data["NetworkInterfaces"]?.arrayValue?.first?["InterfaceType"] == "efa")
        let group = try #require(data["Placement"]?["GroupName"]?["Ref"]?.stringValue)
        #expect(resources[group]?["Type"] == "AWS::EC2::PlacementGroup" && resources[group]?["Properties"]?["Strategy"] == "cluster")
        // Imds Secured: false does not loosen IMDSv2 (that is ImdsSupport's job).
        #expect(data["MetadataOptions"]?["HttpTokens"] == "required")
        let tags = data["TagSpecifications"]?.arrayValue?.first?["Tags"]?.arrayValue ?? []
        #expect(tags.contains(["Key": "parallelcluster:cluster-name", "Value": "demo"]))
        #expect(tags.contains(["Key": "parallelcluster:queue-name", "Value": "c6i"]))
        // The head node: its subnet, key pair and group; its user data mounts the FSx file system at /fsx.
        let head = try #require(resources["HeadNodeLaunchTemplate"]?["Properties"]?["LaunchTemplateData"])
        #expect(head["KeyName"] == "ws-default-keypair" && head["InstanceType"] == "c6i.2xlarge")
        #expect(head["NetworkInterfaces"]?.arrayValue?.first?["SubnetId"] == "subnet-0123456789abcdef0")
        let userData = head["UserData"]?["Fn::Base64"]?["Fn::Sub"]?.stringValue ?? ""
        #expect(userData.contains("--file-system-ids fs-0123456789abcdef0") && userData.contains(" /fsx"))
    }

    /// LoginNodes.Pools as the original builds them: an Auto Scaling group of Count nodes with its two lifecycle
    /// hooks, behind a network load balancer forwarding TCP 22 to the pool's target group; the groups, role and
    /// launch template of the pool; valid bash for its boot; cfn-lint still clean.
    @Test func aLoginPoolAsTheOriginalBuildsIt() async throws {
        let yaml =
            try String(contentsOfFile: Self.example, encoding: .utf8)
            + AWSLoginNodesTests.loginNodes.replacingOccurrences(of: "${SUBNET_ID}", with: "subnet-0123456789abcdef0")
        let built = try template(yaml)
        let document = built.document()
        let resources = try #require(document["Resources"]?.objectValue)
        func one(_ type: String) -> JSONValue? {
            let found = resources.entries.filter { $0.value["Type"]?.stringValue == type }
            return found.count == 1 ? found.first?.value["Properties"] : nil
        }
        let group = try #require(one("AWS::AutoScaling::AutoScalingGroup"))
        #expect(group["AutoScalingGroupName"] == "demo-login-AutoScalingGroup")
        #expect(group["MinSize"] == "2" && group["MaxSize"] == "2" && group["DesiredCapacity"] == "2")
        #expect(group["VPCZoneIdentifier"] == ["subnet-0123456789abcdef0"])
        let hooks = group["LifecycleHookSpecificationList"]?.arrayValue ?? []
        #expect(
            hooks.contains {
                $0["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING" && $0["HeartbeatTimeout"] == 300
                    && $0["DefaultResult"] == "ABANDON"
            })
        #expect(hooks.contains { $0["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING" && $0["HeartbeatTimeout"] == 600 })
        let balancer = try #require(one("AWS::ElasticLoadBalancingV2::LoadBalancer"))
        #expect(balancer["Type"] == "network" && balancer["Subnets"] == ["subnet-0123456789abcdef0"])
        #expect(balancer["Tags"]?.arrayValue?.contains(["Key": "parallelcluster:login-nodes-pool", "Value": "login"]) == true)
        let listener = try #require(one("AWS::ElasticLoadBalancingV2::Listener"))
        #expect(listener["Port"] == 22 && listener["Protocol"] == "TCP")
        let targets = try #require(one("AWS::ElasticLoadBalancingV2::TargetGroup"))
        #expect(targets["Port"] == 22 && targets["Protocol"] == "TCP" && targets["HealthCheckPort"] == "22")
        // The target group's name as the original makes it (its own function, when the oracle is installed).
        let name = try #require(targets["Name"]?.stringValue)
        #expect(name.hasPrefix("demo-login-") && name.count == "demo-login-".count + 16)
        if let python = OracleResponses.python {
            let original = try await runCommand([
                python, "-c",
                "from pcluster.templates.cdk_builder_utils import _get_resource_combination_name as f; print(f('demo', 'login', partial_length=7, hash_length=16))",
            ])
            #expect(String(decoding: original.stdout, as: UTF8.self).split(separator: "\n").first.map(String.init) == name, "\(original.stderr)")
        }
        // SSH from the pool's AllowedIps; the nodes take the head node's key pair and carry the pool's tags.
        let sshRules = resources.entries.filter { $0.key.hasPrefix("LoginNodes") && $0.value["Type"] == "AWS::EC2::SecurityGroup" }
            .flatMap { $0.value["Properties"]?["SecurityGroupIngress"]?.arrayValue ?? [] }
        #expect(sshRules.count == 2 && sshRules.allSatisfy { $0["FromPort"] == 22 && $0["CidrIp"] == "10.0.0.0/16" })
        let launch = try #require(
            resources.entries.first { $0.key.hasPrefix("LoginNodesLaunchTemplate") }?.value["Properties"]?["LaunchTemplateData"])
        #expect(launch["InstanceType"] == "t3.medium" && launch["KeyName"] == "ws-default-keypair")
        let tags = launch["TagSpecifications"]?.arrayValue?.first?["Tags"]?.arrayValue ?? []
        #expect(tags.contains(["Key": "parallelcluster:node-type", "Value": "LoginNode"]))
        #expect(tags.contains(["Key": "parallelcluster:login-nodes-pool", "Value": "login"]))
        // Its boot: valid bash, munge key and slurm.conf from the cluster's prefix, the launching hook completed.
        let script = try #require(launch["UserData"]?["Fn::Base64"]?["Fn::Sub"]?.stringValue)
        let filled = script.replacingOccurrences(of: #"\$\{(AWS::[A-Za-z]+|[A-Za-z]+)\}"#, with: "filled", options: .regularExpression)
            .replacingOccurrences(of: "${!", with: "${")
        let checked = try await runCommand(["/bin/bash", "-n"], input: Data(filled.utf8))
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(script.contains("/munge.key") && script.contains("/slurm/slurm.conf") && script.contains("SLURM_CONF="))
        #expect(script.contains("complete-lifecycle-action --auto-scaling-group-name demo-login-AutoScalingGroup"))
        #expect(script.contains("mount -t lustre") && !script.contains("slurmd"))
        #expect(document["Parameters"]?[ClusterTemplate.schemeParameter("login")]?["Default"] == "internal")

        guard which("cfn-lint") != nil else {
            Issue.record("cfn-lint is not installed")
            return
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-login-template-\(UUID().uuidString).json").path
        defer { unlink(file) }
        try built.render().write(toFile: file, atomically: true, encoding: .utf8)
        let lint = try await runCommand(["cfn-lint", "--regions", "us-east-1", "--", file])
        #expect(lint.status & 2 == 0 && lint.status & 1 == 0, "\(String(decoding: lint.stdout, as: UTF8.self))\(lint.stderr)")
    }

    @Test func namesStayDistinctAndValid() async throws {
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "        - Name: compute\n", with: "        - Name: a-b\n")
        let resources = try template(text).document()["Resources"]?.objectValue?.keys ?? []
        #expect(resources.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
        #expect(resources.contains { $0.hasPrefix("LaunchTemplateC6iAB") })
    }
}
