import ClusterConfig
import Foundation
import JSONOutput
import SlurmHeadNode

/// The CloudFormation template of a cluster, generated from its configuration. Deterministic: resources,
/// keys and lists come in the config's order and nothing depends on time or randomness, so the same config
/// gives the same bytes (diffable, cacheable, reviewable). What only AWS knows when the stack is created
/// (the VPC of the subnets, the AMI of the OS) are template parameters the provider fills in.
package struct ClusterTemplate: Sendable {
    package let clusterName: String
    package let config: ClusterConfiguration
    package let version: String

    package init(clusterName: String, config: ClusterConfiguration, version: String) {
        self.clusterName = clusterName
        self.config = config
        self.version = version
    }

    /// The template as JSON text (CloudFormation reads JSON and YAML alike).
    package func render() -> String { JSONPrinter.render(.object(document()), indent: 2) + "\n" }

    package func document() -> JSONObject {
        var resources = JSONObject()
        securityGroups(into: &resources)
        iam(into: &resources)
        placementGroups(into: &resources)
        computeLaunchTemplates(into: &resources)
        headNode(into: &resources)
        loginNodes(into: &resources)
        var parameters: JSONObject = [
            "VpcId": ["Type": "AWS::EC2::VPC::Id", "Description": "The VPC of the cluster's subnets."],
            "ImageId": ["Type": "AWS::EC2::Image::Id", "Description": .string("The AMI of every node (\(config.customAmi ?? config.os)).")],
            "ConfigBucket": ["Type": "String", "Description": "The bucket with the cluster's configuration and munge key."],
        ]
        for (key, value) in loginParameters().entries { parameters[key] = value }
        return [
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": .string("AWS ParallelCluster-compatible stack of cluster \(clusterName) (pcluster \(version))"),
            "Parameters": .object(parameters),
            "Resources": .object(resources),
            "Outputs": [
                "HeadNodeInstanceId": ["Value": ["Ref": "HeadNode"]],
                "HeadNodePrivateIp": ["Value": ["Fn::GetAtt": ["HeadNode", "PrivateIp"]]],
                "ComputeSecurityGroupId": ["Value": ["Ref": "ComputeSecurityGroup"]],
            ],
        ]
    }

    // MARK: Names

    /// A CloudFormation logical id from config names (letters and digits only), with a short stable hash of
    /// the originals so "a-b" and "ab" stay distinct.
    package static func logicalId(_ prefix: String, _ parts: String...) -> String {
        let joined = parts.joined(separator: "/")
        let letters = parts.map { part in
            part.split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber)) })
                .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }.joined()
        // FNV-1a: a fixed function (Swift's Hasher is seeded per process).
        var hash: UInt32 = 2_166_136_261
        for byte in joined.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return prefix + letters + String(hash, radix: 16).prefix(6)
    }

    func tags(_ extra: [(String, String)], configTags: [ClusterConfiguration.Tag] = []) -> JSONValue {
        var pairs: [(String, String)] = [("parallelcluster:cluster-name", clusterName), ("parallelcluster:version", version)] + extra
        for tag in config.tags + configTags where !pairs.contains(where: { $0.0 == tag.key }) { pairs.append((tag.key, tag.value)) }
        return .array(pairs.map { ["Key": .string($0.0), "Value": .string($0.1)] })
    }

    // MARK: Security groups

    func securityGroups(into resources: inout JSONObject) {
        let head = config.headNode
        var ingress: [JSONValue] = []
        if head.securityGroups.isEmpty {
            ingress.append([
                "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": .string(head.sshAllowedIps ?? "0.0.0.0/0"),
                "Description": "SSH",
            ])
            if head.dcvEnabled {
                ingress.append([
                    "IpProtocol": "tcp", "FromPort": .int(head.dcvPort), "ToPort": .int(head.dcvPort),
                    "CidrIp": .string(head.dcvAllowedIps), "Description": "NICE DCV",
                ])
            }
        }
        resources["HeadNodeSecurityGroup"] = [
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": [
                "GroupDescription": "Head node: SSH and DCV from the allowed addresses, everything from the cluster",
                "VpcId": ["Ref": "VpcId"],
                "SecurityGroupIngress": .array(ingress),
                "Tags": tags([("parallelcluster:node-type", "HeadNode")]),
            ],
        ]
        resources["ComputeSecurityGroup"] = [
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": [
                "GroupDescription": "Compute nodes: everything from the cluster",
                "VpcId": ["Ref": "VpcId"],
                "Tags": tags([("parallelcluster:node-type", "Compute")]),
            ],
        ]
        // All traffic inside the cluster. The compute group's rule to itself, in and out, is also what EFA needs.
        let inside: [(String, String, String)] = [
            ("HeadNodeIngressFromCompute", "HeadNodeSecurityGroup", "ComputeSecurityGroup"),
            ("ComputeIngressFromHeadNode", "ComputeSecurityGroup", "HeadNodeSecurityGroup"),
            ("ComputeIngressFromCompute", "ComputeSecurityGroup", "ComputeSecurityGroup"),
        ]
        for (name, group, source) in inside {
            resources[name] = [
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": [
                    "GroupId": ["Ref": .string(group)], "SourceSecurityGroupId": ["Ref": .string(source)],
                    "IpProtocol": "-1", "Description": "All traffic inside the cluster",
                ],
            ]
        }
        resources["ComputeEgressToCompute"] = [
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": [
                "GroupId": ["Ref": "ComputeSecurityGroup"], "DestinationSecurityGroupId": ["Ref": "ComputeSecurityGroup"],
                "IpProtocol": "-1", "Description": "EFA: all traffic to the group itself",
            ],
        ]
    }

    /// The groups of a queue's nodes: its own SecurityGroups replace ours, AdditionalSecurityGroups add to them.
    func computeGroups(_ queue: ClusterConfiguration.SlurmQueue) -> JSONValue {
        let own: [JSONValue] = queue.securityGroups.isEmpty ? [["Ref": "ComputeSecurityGroup"]] : queue.securityGroups.map { .string($0) }
        return .array(own + queue.additionalSecurityGroups.map { .string($0) })
    }

    // MARK: IAM

    static let assumeByEC2: JSONValue = [
        "Version": "2012-10-17",
        "Statement": [["Effect": "Allow", "Principal": ["Service": ["ec2.amazonaws.com"]], "Action": ["sts:AssumeRole"]]],
    ]

    func iam(into resources: inout JSONObject) {
        // The head node runs the node agent: it launches and terminates compute instances of this cluster
        // only (the condition on the cluster-name tag), and passes the compute roles to them.
        let computeRoles: [JSONValue] = config.scheduling.queues.map { ["Fn::GetAtt": [.string(Self.logicalId("ComputeRole", $0.name)), "Arn"]] }
        // With SlurmSettings.Database the head node reads the database password, that secret alone, as the
        // original's head node policy allows.
        let databaseSecret: [JSONValue] =
            config.scheduling.database.map { database in
                [["Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": .string(database.passwordSecretArn)]]
            } ?? []
        let agent: JSONValue = [
            "PolicyName": "parallelcluster-node-agent",
            "PolicyDocument": [
                "Version": "2012-10-17",
                "Statement": .array(
                    databaseSecret + [
                        [
                            "Effect": "Allow", "Resource": "*",
                            "Action": [
                                "ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateTags", "ec2:DescribeInstances",
                                "ec2:DescribeInstanceStatus", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
                                "ec2:DescribeTags", "fsx:DescribeFileSystems", "cloudformation:DescribeStacks",
                                "cloudformation:ListStackResources",
                            ],
                        ],
                        // The cluster's configuration and munge key, under its own prefix of the config bucket.
                        [
                            "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                            "Resource": [
                                "Fn::Sub": .string("arn:${AWS::Partition}:s3:::${ConfigBucket}/parallelcluster/*/clusters/\(clusterName)/*")
                            ],
                        ],
                        [
                            "Effect": "Allow", "Resource": "*", "Action": ["ec2:TerminateInstances"],
                            "Condition": ["StringEquals": ["ec2:ResourceTag/parallelcluster:cluster-name": .string(clusterName)]],
                        ],
                        ["Effect": "Allow", "Action": ["iam:PassRole"], "Resource": .array(computeRoles.isEmpty ? ["*"] : computeRoles)],
                    ]),
            ],
        ]
        resources["HeadNodeRole"] = [
            "Type": "AWS::IAM::Role",
            "Properties": [
                "AssumeRolePolicyDocument": Self.assumeByEC2,
                "ManagedPolicyArns": .array(
                    uniqueArns(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] + config.headNode.additionalIamPolicies.map(\.arn))),
                "Policies": [agent],
                "Tags": tags([("parallelcluster:node-type", "HeadNode")]),
            ],
        ]
        resources["HeadNodeInstanceProfile"] = [
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": ["Roles": [["Ref": "HeadNodeRole"]]],
        ]
        for queue in config.scheduling.queues {
            let role = Self.logicalId("ComputeRole", queue.name)
            resources[role] = [
                "Type": "AWS::IAM::Role",
                "Properties": [
                    "AssumeRolePolicyDocument": Self.assumeByEC2,
                    "ManagedPolicyArns": .array(
                        uniqueArns(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] + queue.additionalIamPolicies.map(\.arn))),
                    // Joining: its node name (a tag), the head node's address, the shared storage, the cluster's munge key.
                    "Policies": [
                        [
                            "PolicyName": "parallelcluster-compute-join",
                            "PolicyDocument": ["Version": "2012-10-17", "Statement": .array(joinStatements(reading: ["munge.key"]))],
                        ]
                    ],
                    "Tags": tags([("parallelcluster:node-type", "Compute"), ("parallelcluster:queue-name", queue.name)]),
                ],
            ]
            resources[Self.logicalId("ComputeInstanceProfile", queue.name)] = [
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": ["Roles": [["Ref": .string(role)]]],
            ]
        }
    }

    /// What a node that joins the cluster may do: read its own tags, the head node's address and the shared
    /// storage, and these objects the head node publishes under the cluster's prefix of the config bucket.
    func joinStatements(reading published: [String]) -> [JSONValue] {
        let prefix = "arn:${AWS::Partition}:s3:::${ConfigBucket}/parallelcluster/*/clusters/\(clusterName)"
        return [
            ["Effect": "Allow", "Resource": "*", "Action": ["ec2:DescribeTags", "ec2:DescribeInstances", "fsx:DescribeFileSystems"]],
            ["Effect": "Allow", "Action": ["s3:GetObject"], "Resource": .array(published.map { ["Fn::Sub": .string("\(prefix)/\($0)")] })],
        ]
    }

    func uniqueArns(_ arns: [String]) -> [JSONValue] {
        var seen = Set<String>()
        return arns.filter { seen.insert($0).inserted }.map { .string($0) }
    }

    // MARK: Placement groups

    /// A managed placement group per queue (or per compute resource that asks for its own) that enables one
    /// without naming an existing group.
    func placementGroups(into resources: inout JSONObject) {
        for queue in config.scheduling.queues {
            if let group = queue.placementGroup, group.enabled == true, group.id == nil, group.name == nil {
                resources[Self.logicalId("PlacementGroup", queue.name)] = [
                    "Type": "AWS::EC2::PlacementGroup", "Properties": ["Strategy": "cluster"],
                ]
            }
            for resource in queue.computeResources {
                if let group = resource.placementGroup, group.enabled == true, group.id == nil, group.name == nil {
                    resources[Self.logicalId("PlacementGroup", queue.name, resource.name)] = [
                        "Type": "AWS::EC2::PlacementGroup", "Properties": ["Strategy": "cluster"],
                    ]
                }
            }
        }
    }

    /// The placement group a compute resource's instances go to, if any (its own setting wins over the queue's).
    func placement(_ queue: ClusterConfiguration.SlurmQueue, _ resource: ClusterConfiguration.ComputeResource) -> JSONValue? {
        for (group, id) in [
            (resource.placementGroup, Self.logicalId("PlacementGroup", queue.name, resource.name)),
            (queue.placementGroup, Self.logicalId("PlacementGroup", queue.name)),
        ] {
            guard let group else { continue }
            guard group.enabled != false else { return nil }
            if let name = group.name ?? group.id { return .string(name) }
            if group.enabled == true { return ["Ref": .string(id)] }
        }
        return nil
    }

    /// The placement group's name for launches: the one the config names, else the group the stack made for
    /// the queue or compute resource (nil when the stack has none, or its endpoint made none).
    package func placementGroupName(
        _ queue: ClusterConfiguration.SlurmQueue, _ resource: ClusterConfiguration.ComputeResource,
        physicalIds: [String: String]
    ) -> String? {
        switch placement(queue, resource) {
        case .string(let name)?: return name
        case .object(let ref)?:
            guard case .string(let logical)? = ref["Ref"], let id = physicalIds[logical], !id.isEmpty else { return nil }
            return id
        default: return nil
        }
    }

    package func launchTemplateName(_ queue: String, _ resource: String) -> String { "\(clusterName)-\(queue)-\(resource)" }

    // MARK: Launch templates

    var metadataOptions: JSONValue {
        ["HttpTokens": .string(config.imdsSupport == "v1.0" ? "optional" : "required"), "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"]
    }

    func rootVolume(_ volume: ClusterConfiguration.RootVolume?) -> JSONValue {
        var ebs: JSONObject = [
            "VolumeType": .string(volume?.volumeType ?? "gp3"), "Encrypted": .bool(volume?.encrypted ?? true),
            "DeleteOnTermination": true,
        ]
        if let size = volume?.size { ebs["VolumeSize"] = .int(size) }
        if let iops = volume?.iops, ["io1", "io2", "gp3"].contains(volume?.volumeType ?? "gp3") { ebs["Iops"] = .int(iops) }
        if let throughput = volume?.throughput, (volume?.volumeType ?? "gp3") == "gp3" { ebs["Throughput"] = .int(throughput) }
        return [["DeviceName": "/dev/xvda", "Ebs": .object(ebs)]]
    }

    func computeLaunchTemplates(into resources: inout JSONObject) {
        for queue in config.scheduling.queues {
            for resource in queue.computeResources {
                var data: JSONObject = [
                    "ImageId": ["Ref": "ImageId"],
                    "IamInstanceProfile": ["Arn": ["Fn::GetAtt": [.string(Self.logicalId("ComputeInstanceProfile", queue.name)), "Arn"]]],
                    "MetadataOptions": metadataOptions,
                    "BlockDeviceMappings": rootVolume(queue.rootVolume),
                ]
                if resource.instanceTypes.count == 1, let type = resource.instanceTypes.first { data["InstanceType"] = .string(type) }
                if let key = config.headNode.keyName { data["KeyName"] = .string(key) }
                if resource.efaEnabled {
                    // EFA: the interface type is set on the network interface; the fleet call fills in the subnet.
                    data["NetworkInterfaces"] = [
                        [
                            "DeviceIndex": 0, "NetworkCardIndex": 0, "InterfaceType": "efa",
                            "Groups": computeGroups(queue), "DeleteOnTermination": true,
                        ]
                    ]
                } else {
                    data["NetworkInterfaces"] = [["DeviceIndex": 0, "Groups": computeGroups(queue), "DeleteOnTermination": true]]
                }
                if let group = placement(queue, resource) { data["Placement"] = ["GroupName": group] }
                if queue.capacityType == "SPOT" {
                    var spot: JSONObject = ["SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"]
                    if let price = resource.spotPrice { spot["MaxPrice"] = .string(String(price)) }
                    data["InstanceMarketOptions"] = ["MarketType": "spot", "SpotOptions": .object(spot)]
                }
                let nodeTags = tags(
                    [
                        ("parallelcluster:node-type", "Compute"), ("parallelcluster:queue-name", queue.name),
                        ("parallelcluster:compute-resource-name", resource.name),
                    ], configTags: queue.tags)
                data["TagSpecifications"] = [["ResourceType": "instance", "Tags": nodeTags], ["ResourceType": "volume", "Tags": nodeTags]]
                data["UserData"] = ["Fn::Base64": ["Fn::Sub": .string(computeUserData(queue: queue.name, resource: resource.name))]]
                resources[Self.logicalId("LaunchTemplate", queue.name, resource.name)] = [
                    "Type": "AWS::EC2::LaunchTemplate",
                    "Properties": [
                        "LaunchTemplateName": .string(launchTemplateName(queue.name, resource.name)),
                        "LaunchTemplateData": .object(data),
                    ],
                ]
            }
        }
    }

    // MARK: Head node

    func headNode(into resources: inout JSONObject) {
        let head = config.headNode
        let groups: [JSONValue] =
            (head.securityGroups.isEmpty ? [["Ref": "HeadNodeSecurityGroup"]] : head.securityGroups.map { .string($0) })
            + head.additionalSecurityGroups.map { .string($0) }
        var data: JSONObject = [
            "ImageId": ["Ref": "ImageId"],
            "InstanceType": .string(head.instanceType),
            "IamInstanceProfile": ["Arn": ["Fn::GetAtt": ["HeadNodeInstanceProfile", "Arn"]]],
            "MetadataOptions": metadataOptions,
            "BlockDeviceMappings": rootVolume(head.rootVolume),
            "NetworkInterfaces": [
                [
                    "DeviceIndex": 0, "SubnetId": .string(head.subnetId), "Groups": .array(groups),
                    "DeleteOnTermination": true,
                ]
            ],
            "UserData": ["Fn::Base64": ["Fn::Sub": .string(headNodeUserData())]],
        ]
        if let key = head.keyName { data["KeyName"] = .string(key) }
        resources["HeadNodeLaunchTemplate"] = [
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": ["LaunchTemplateName": .string("\(clusterName)-head-node"), "LaunchTemplateData": .object(data)],
        ]
        resources["HeadNode"] = [
            "Type": "AWS::EC2::Instance",
            // The launch templates of the compute nodes exist before the agent can use them.
            "DependsOn": .array(
                config.scheduling.queues.flatMap { q in q.computeResources.map { .string(Self.logicalId("LaunchTemplate", q.name, $0.name)) } }),
            "Properties": [
                // The first version, always: an update that changes the launch template (security groups, shared
                // storage) must not replace the running head node, which a new Version here would do.
                "LaunchTemplate": ["LaunchTemplateId": ["Ref": "HeadNodeLaunchTemplate"], "Version": "1"],
                // Also given directly (the same values): moto's CloudFormation reads them only from here.
                "ImageId": ["Ref": "ImageId"],
                "InstanceType": .string(head.instanceType),
                "Tags": tags([("parallelcluster:node-type", "HeadNode"), ("Name", "HeadNode")]),
            ],
        ]
        // The stack is complete when the head node says its first boot worked (or failed, which fails the stack
        // and rolls it back), as the original's cfn-signal does; 35 minutes at most.
        resources["HeadNodeWaitConditionHandle"] = ["Type": "AWS::CloudFormation::WaitConditionHandle"]
        resources["HeadNodeWaitCondition"] = [
            "Type": "AWS::CloudFormation::WaitCondition",
            "DependsOn": "HeadNode",
            "Properties": ["Handle": ["Ref": "HeadNodeWaitConditionHandle"], "Timeout": "2100"],
        ]
    }

    /// Where the cluster's state lives on every node: slurm.conf's paths point here on the head node and on the
    /// compute nodes alike.
    static let clusterDirectory = "/opt/parallelcluster/cluster"

    /// The head node's first boot: Slurm and munge packages, the shared storage, then `pcluster-agent bootstrap
    /// --start` (the agent's state from the stack, munged, slurmctld, the cluster-manager loop; the munge key
    /// published for compute nodes). The AMI carries pcluster-agent. `${AWS::Region}` and `${AWS::StackName}`
    /// are filled in by CloudFormation (Fn::Sub); shell variables are written `${!name}`.
    func headNodeUserData() -> String {
        var lines = [
            "#!/bin/bash",
            "set -euo pipefail",
            "exec > >(tee -a /var/log/parallelcluster-init.log) 2>&1",
            // Tells the stack's wait condition how the first boot went.
            "signal() { curl -sf -X PUT -H 'Content-Type:' --data-binary \"{\\\"Status\\\":\\\"$1\\\",\\\"Reason\\\":\\\"$2\\\",\\\"UniqueId\\\":\\\"HeadNode\\\",\\\"Data\\\":\\\"$2\\\"}\" '${HeadNodeWaitConditionHandle}' || true; }",
            "trap 'signal FAILURE \"head node init failed at line $LINENO; see /var/log/parallelcluster-init.log\"' ERR",
            "export AWS_REGION=${AWS::Region}",
            "echo \"cluster \(clusterName): head node init\"",
            "command -v slurmctld >/dev/null || (dnf install -y slurm-slurmctld munge || yum install -y slurm munge || apt-get install -y slurmctld munge)",
        ]
        lines += sharedStorageMounts()
        lines += [
            "pcluster-agent bootstrap --cluster-name ${AWS::StackName} --region ${AWS::Region} --cluster-dir \(Self.clusterDirectory) --start --publish-munge-key",
            "signal SUCCESS \"head node ready\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The shared storage at each MountDir, on the head node and on every compute node (and in fstab, for reboots).
    func sharedStorageMounts() -> [String] {
        var lines: [String] = []
        for storage in config.sharedStorage {
            lines.append("mkdir -p \(storage.mountDir)")
            switch storage.storageType {
            case "FsxLustre":
                if let id = storage.fsxLustre?.fileSystemId {
                    lines += [
                        "read -r dns mount_name < <(aws fsx describe-file-systems --file-system-ids \(id) --query 'FileSystems[0].[DNSName,LustreConfiguration.MountName]' --output text)",
                        "mount -t lustre -o relatime,flock ${!dns}@tcp:/${!mount_name} \(storage.mountDir)",
                        "echo \"${!dns}@tcp:/${!mount_name} \(storage.mountDir) lustre defaults,relatime,flock,_netdev 0 0\" >> /etc/fstab",
                    ]
                }
            case "Efs":
                if let id = storage.efsFileSystemId {
                    lines.append("mount -t efs -o tls \(id):/ \(storage.mountDir)")
                }
            default:
                break
            }
        }
        return lines
    }

    /// A compute node's first boot: its node name from the tag the head node's agent puts on its instance, the
    /// head node's address, the cluster's munge key, then slurmd in configless mode (slurm.conf from slurmctld).
    func computeUserData(queue: String, resource: String) -> String {
        let dir = Self.clusterDirectory
        let layout = LocalLayout(root: URL(fileURLWithPath: dir))
        let socket = layout.mungeSocket, socketDir = layout.mungeSocketDirectory
        let preamble: [String] = [
            "#!/bin/bash",
            "set -euo pipefail",
            "exec > >(tee -a /var/log/parallelcluster-init.log) 2>&1",
            "export AWS_REGION=${AWS::Region}",
            "command -v slurmd >/dev/null || (dnf install -y slurm-slurmd munge || yum install -y slurm munge || apt-get install -y slurmd munge)",
        ]
        let join: [String] = [
            "token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
            "me=$(curl -sf -H \"X-aws-ec2-metadata-token: ${!token}\" http://169.254.169.254/latest/meta-data/instance-id)",
            "node=None",
            "for attempt in $(seq 1 60); do",
            "  node=$(aws ec2 describe-tags --filters Name=resource-id,Values=${!me} Name=key,Values=parallelcluster:node-name --query 'Tags[0].Value' --output text)",
            "  [ \"${!node}\" != None ] && break",
            "  sleep 5",
            "done",
            "head=$(aws ec2 describe-instances --filters Name=tag:parallelcluster:cluster-name,Values=${AWS::StackName} Name=tag:parallelcluster:node-type,Values=HeadNode Name=instance-state-name,Values=running --query 'Reservations[0].Instances[0].PrivateIpAddress' --output text)",
            "mkdir -p \(dir)/munge \(dir)/run \(dir)/log \(dir)/slurm",
            "aws s3 cp s3://${ConfigBucket}/parallelcluster/\(version)/clusters/${AWS::StackName}/munge.key \(dir)/munge/munge.key",
            "chown -R munge:munge \(dir)/munge && chmod 0755 \(dir)/munge && chmod 0400 \(dir)/munge/munge.key",
            // The socket where the head node's slurm.conf (AuthInfo) says it is.
            "mkdir -p \(socketDir) && chown munge:munge \(socketDir) && chmod 0755 \(socketDir)",
            "runuser -u munge -- munged --socket=\(socket) --key-file=\(dir)/munge/munge.key --pid-file=\(dir)/munge/munged.pid",
            // slurmd fetches slurm.conf (with AuthInfo's socket) through munge's default socket.
            "mkdir -p /run/munge && ln -sf \(socket) /run/munge/munge.socket.2",
            "echo \"cluster \(clusterName): node ${!node} of \(queue)/\(resource) joins ${!head}\"",
            "slurmd --conf-server ${!head}:6817 -N ${!node}",
        ]
        return (preamble + sharedStorageMounts() + join).joined(separator: "\n") + "\n"
    }
}
