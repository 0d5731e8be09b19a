import AWSCloudFormation
import AWSCore
import AWSProvider
import ClusterConfig
import Foundation
import JSONOutput
import PClusterCLI
import TestSupport
import Testing

/// A login node pool on AWS, against moto on 127.0.0.1: the template's Auto Scaling group starts `Count`
/// instances behind the pool's network load balancer, and describe-cluster / describe-cluster-instances report
/// them as the original does (the load balancer's state, DNS name and scheme; the target group's health).
struct AWSLoginNodesTests {
    static let loginNodes = """
        LoginNodes:
          Pools:
            - Name: login
              InstanceType: t3.medium
              Count: 2
              Networking:
                SubnetIds:
                  - ${SUBNET_ID}
              Ssh:
                AllowedIps: 10.0.0.0/16
              GracetimePeriod: 5

        """

    @Test func aLoginPoolIsStartedBehindItsLoadBalancerAndDescribed() async throws {
        // The unchecked server: moto's signature check re-encodes form bodies its own way, and a template body
        // (quotes, `&`, newlines) then fails it although the request is right.
        let account = try await WorkshopOnMoto.prepare(on: .unchecked)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-login-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = account.environment(home: home)
        let name = "login\(UInt32.random(in: 0...UInt32.max))"
        let text = try WorkshopOnMoto.config(placementGroup: "\(name)-pg") + Self.loginNodes
        let (document, _) = try ConfigLoader.parse(text: text, file: "cluster.yaml", environment: env)
        let config = try #require(ConfigValidation.validate(document: document, clusterName: name, region: nil).config)
        #expect(config.loginNodePools.first?.subnetIds == [account.subnet])

        // What create-cluster does, but for two changes moto needs: its CloudFormation makes every load balancer
        // an application one (it ignores Type), which refuses the original's TCP listener on port 22; and its
        // RunInstances insists on a root volume size, which EC2 takes from the AMI.
        let provider = AWSClusterProvider(environment: env, region: "us-east-1", version: "3.16.1")
        let parameters = try await provider.stackParameters(config)
        // moto's subnet has no route to an internet gateway: an internal load balancer, as the original decides.
        #expect(parameters.contains { $0 == (ClusterTemplate.schemeParameter("login"), "internal") }, "\(parameters)")
        try await provider.uploadConfiguration(AWSClusterProvider.resolvedConfiguration(config, name: name), of: name)
        let rendered = ClusterTemplate(clusterName: name, config: config, version: "3.16.1").render()
        let listener = ClusterTemplate.logicalId("LoginNodesListener", "login")
        var template = try JSONValue.parse(rendered).objectValue ?? [:]
        var resources = template["Resources"]?.objectValue ?? [:]
        var listenerResource = try #require(resources[listener]?.objectValue)
        var properties = listenerResource["Properties"]?.objectValue ?? [:]
        #expect(properties["Protocol"] == "TCP" && properties["Port"] == 22)
        properties["Protocol"] = JSONValue.string("HTTP")
        listenerResource["Properties"] = .object(properties)
        resources[listener] = .object(listenerResource)
        let launchTemplate = ClusterTemplate.logicalId("LoginNodesLaunchTemplate", "login")
        var launchResource = try #require(resources[launchTemplate]?.objectValue)
        var launchProperties = launchResource["Properties"]?.objectValue ?? [:]
        var data = launchProperties["LaunchTemplateData"]?.objectValue ?? [:]
        data["BlockDeviceMappings"] = [["DeviceName": "/dev/xvda", "Ebs": ["VolumeSize": 40, "VolumeType": "gp3"]]]
        launchProperties["LaunchTemplateData"] = .object(data)
        launchResource["Properties"] = .object(launchProperties)
        resources[launchTemplate] = .object(launchResource)
        template["Resources"] = .object(resources)

        let cfn = try CloudFormation(settings: account.moto.settings())
        _ = try await cfn.createStack(
            name: name, templateBody: JSONPrinter.render(.object(template), indent: 0), parameters: parameters,
            tags: [("parallelcluster:version", "3.16.1")], rollbackOnFailure: true)
        let stack = try await cfn.waitWhileInProgress(name, timeout: 120)
        #expect(stack?.status == "CREATE_COMPLETE", "\(String(describing: stack))")

        func pcluster(_ arguments: String...) async throws -> (json: JSONValue, status: Int32) {
            let result = await PClusterCLI.run(arguments, environment: env)
            return (try JSONValue.parse(result.stdout.isEmpty ? "{}" : result.stdout), result.exitCode)
        }
        let described = try await pcluster("describe-cluster", "-n", name)
        let pools = described.json["loginNodes"]?.arrayValue ?? []
        #expect(pools.count == 1, "\(described.json)")
        let pool = try #require(pools.first)
        #expect(pool["poolName"] == "login" && pool["status"] == "active" && pool["scheme"] == "internal", "\(pool)")
        #expect(pool["address"]?.stringValue?.hasSuffix(".elb.amazonaws.com") == true, "\(pool)")
        #expect(pool["healthyNodes"] == 2 && pool["unhealthyNodes"] == 0, "\(pool)")

        // The pool's instances, from its launch template's tags.
        let logins = try await pcluster("describe-cluster-instances", "-n", name, "--node-type", "LoginNode").json["instances"]?.arrayValue ?? []
        #expect(logins.count == 2 && logins.allSatisfy { $0["nodeType"] == "LoginNode" && $0["instanceType"] == "t3.medium" }, "\(logins)")
        #expect(logins.allSatisfy { $0["queueName"] == nil })
        let all = try await pcluster("describe-cluster-instances", "-n", name).json["instances"]?.arrayValue ?? []
        #expect(all.map { $0["nodeType"]?.stringValue ?? "" }.sorted() == ["HeadNode", "LoginNode", "LoginNode"], "\(all)")

        if OracleResponses.python != nil {
            let documents = [
                ("DescribeClusterResponseContent", try JSONPrinter.render(described.json, indent: 0)),
                (
                    "DescribeClusterInstancesResponseContent",
                    await PClusterCLI.run(["describe-cluster-instances", "-n", name], environment: env).stdout
                ),
            ]
            for ((model, _), problems) in zip(documents, try await OracleResponses.problems(documents.map { (model: $0.0, json: $0.1) })) {
                #expect(problems.isEmpty, "\(model):\n\(problems.joined(separator: "\n"))")
            }
        }

        // Delete takes the pool with the stack.
        let deleted = try await pcluster("delete-cluster", "-n", name, "--wait")
        #expect(deleted.status == 0, "\(deleted.json)")
        let running = try await account.ec2.query(
            "DescribeInstances",
            [
                QueryItem("Filter.1.Name", "tag:parallelcluster:node-type"), QueryItem("Filter.1.Value.1", "LoginNode"),
                QueryItem("Filter.2.Name", "instance-state-name"), QueryItem("Filter.2.Value.1", "running"),
                QueryItem("Filter.3.Name", "tag:parallelcluster:cluster-name"), QueryItem("Filter.3.Value.1", name),
            ])
        #expect(running.child("reservationSet")?.children("item").isEmpty ?? true)
    }
}
