import AWSCore
import ClusterConfig
import Foundation
import JSONOutput
import SlurmHeadNode

/// LoginNodes.Pools as the original builds them: per pool, an Auto Scaling group of `Count` instances from a
/// launch template, behind a network load balancer that forwards SSH (port 22) to a target group of the
/// pool's instances, with a security group for the nodes and one for the load balancer, and an instance role.
/// The group's lifecycle hooks are the original's: a node has 10 minutes to say it booted (else it is
/// replaced), and a terminating node is kept for the pool's GracetimePeriod.
extension ClusterTemplate {
    typealias Pool = ClusterConfiguration.LoginNodePool

    /// The stack parameter that tells a pool's load balancer's scheme: "internet-facing" when the pool's
    /// subnet routes to an internet gateway, as the original decides; the provider looks that up.
    package static func schemeParameter(_ pool: String) -> String { logicalId("LoginNodesScheme", pool) }

    /// The names the original gives a pool's group and its hooks ("<cluster>-<pool>-AutoScalingGroup").
    package func autoScalingGroupName(_ pool: String) -> String { "\(clusterName)-\(pool)-AutoScalingGroup" }
    func launchingHookName(_ pool: String) -> String { "\(clusterName)-\(pool)-LoginNodesLaunchingLifecycleHook" }
    func terminatingHookName(_ pool: String) -> String { "\(clusterName)-\(pool)-LoginNodesTerminatingLifecycleHook" }

    /// The target group's name as the original makes it: the first 7 characters of the cluster's and the pool's
    /// names and 16 hex digits of the SHA-256 of both (a target group name has at most 32 characters).
    func targetGroupName(_ pool: String) -> String {
        guard case .hex(let hash) = PayloadHash.of(Data((clusterName + pool).utf8)) else { return "\(clusterName.prefix(7))-\(pool.prefix(7))" }
        return "\(clusterName.prefix(7))-\(pool.prefix(7))-\(hash.prefix(16))"
    }

    /// The logical id of a pool's load balancer: `describe-cluster` finds it among the stack's resources.
    package static func loadBalancerId(_ pool: String) -> String { logicalId("LoginNodesLoadBalancer", pool) }

    func loginParameters() -> JSONObject {
        var parameters = JSONObject()
        for pool in config.loginNodePools {
            parameters[Self.schemeParameter(pool.name)] = [
                "Type": "String", "Default": "internal", "AllowedValues": ["internal", "internet-facing"],
                "Description": .string("The scheme of login node pool \(pool.name)'s load balancer."),
            ]
        }
        return parameters
    }

    /// The groups of a pool's nodes (and of its load balancer): its own SecurityGroups replace ours.
    func loginGroups(_ pool: Pool, managed: String) -> [JSONValue] {
        let own: [JSONValue] = pool.securityGroups.isEmpty ? [["Ref": .string(managed)]] : pool.securityGroups.map { .string($0) }
        return own + pool.additionalSecurityGroups.map { .string($0) }
    }

    func loginNodes(into resources: inout JSONObject) {
        for pool in config.loginNodePools {
            let nodeGroup = Self.logicalId("LoginNodesSecurityGroup", pool.name)
            let balancerGroup = Self.logicalId("LoginNodesLoadBalancerSecurityGroup", pool.name)
            loginSecurityGroups(pool, nodeGroup: nodeGroup, balancerGroup: balancerGroup, into: &resources)
            loginRole(pool, into: &resources)
            loginLaunchTemplate(pool, nodeGroup: nodeGroup, into: &resources)
            let targetGroup = Self.logicalId("LoginNodesTargetGroup", pool.name)
            let poolTag: (String, String) = ("parallelcluster:login-nodes-pool", pool.name)
            resources[targetGroup] = [
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": [
                    "Name": .string(targetGroupName(pool.name)), "Port": 22, "Protocol": "TCP", "TargetType": "instance",
                    "VpcId": ["Ref": "VpcId"], "HealthCheckPort": "22", "HealthCheckProtocol": "TCP",
                    "Tags": tags([poolTag]),
                ],
            ]
            let balancer = Self.loadBalancerId(pool.name)
            resources[balancer] = [
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": [
                    "Type": "network", "Scheme": ["Ref": .string(Self.schemeParameter(pool.name))],
                    "Subnets": .array(pool.subnetIds.map { .string($0) }),
                    "SecurityGroups": .array(loginGroups(pool, managed: balancerGroup)),
                    "Tags": tags([poolTag]),
                ],
            ]
            resources[Self.logicalId("LoginNodesListener", pool.name)] = [
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": [
                    "LoadBalancerArn": ["Ref": .string(balancer)], "Port": 22, "Protocol": "TCP",
                    "DefaultActions": [["Type": "forward", "TargetGroupArn": ["Ref": .string(targetGroup)]]],
                ],
            ]
            let launchTemplate = Self.logicalId("LoginNodesLaunchTemplate", pool.name)
            resources[Self.logicalId("LoginNodesAutoScalingGroup", pool.name)] = [
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                // As the original's login nodes stack: after the head node said it is ready (the munge key and
                // slurm.conf the nodes read are published by then).
                "DependsOn": "HeadNodeWaitCondition",
                "Properties": [
                    "AutoScalingGroupName": .string(autoScalingGroupName(pool.name)),
                    "LaunchTemplate": [
                        "LaunchTemplateId": ["Ref": .string(launchTemplate)],
                        "Version": ["Fn::GetAtt": [.string(launchTemplate), "LatestVersionNumber"]],
                    ],
                    "MinSize": .string(String(pool.count)), "MaxSize": .string(String(pool.count)),
                    "DesiredCapacity": .string(String(pool.count)),
                    "TargetGroupARNs": [["Ref": .string(targetGroup)]],
                    "VPCZoneIdentifier": .array(pool.subnetIds.map { .string($0) }),
                    "LifecycleHookSpecificationList": [
                        [
                            "LifecycleHookName": .string(terminatingHookName(pool.name)), "DefaultResult": "ABANDON",
                            "HeartbeatTimeout": .int(pool.gracetimePeriod * 60), "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
                        ],
                        [
                            "LifecycleHookName": .string(launchingHookName(pool.name)), "DefaultResult": "ABANDON",
                            "HeartbeatTimeout": 600, "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
                        ],
                    ],
                ],
            ]
        }
    }

    /// SSH from the pool's AllowedIps to the load balancer and from the load balancer to the nodes; all traffic
    /// between the nodes and the head node and compute nodes (srun on a login node is reached back by the
    /// job's nodes). Only groups the stack makes get rules: a pool's own SecurityGroups are the user's to set.
    func loginSecurityGroups(_ pool: Pool, nodeGroup: String, balancerGroup: String, into resources: inout JSONObject) {
        guard pool.securityGroups.isEmpty else { return }
        let ssh: JSONValue = [
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": .string(pool.sshAllowedIps ?? "0.0.0.0/0"), "Description": "SSH",
        ]
        resources[nodeGroup] = [
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": [
                "GroupDescription": .string("Login nodes of pool \(pool.name): SSH from the allowed addresses, everything from the cluster"),
                "VpcId": ["Ref": "VpcId"], "SecurityGroupIngress": [ssh],
                "Tags": tags([("parallelcluster:node-type", "LoginNode"), ("parallelcluster:login-nodes-pool", pool.name)]),
            ],
        ]
        resources[balancerGroup] = [
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": [
                "GroupDescription": .string("Enable access to \(pool.name) network load balancer"),
                "VpcId": ["Ref": "VpcId"], "SecurityGroupIngress": [ssh],
                "Tags": tags([("parallelcluster:login-nodes-pool", pool.name)]),
            ],
        ]
        let rules: [(String, String, String)] = [
            ("LoginNodesIngressFromLoadBalancer", nodeGroup, balancerGroup),
            ("LoginNodesIngressFromHeadNode", nodeGroup, "HeadNodeSecurityGroup"),
            ("LoginNodesIngressFromCompute", nodeGroup, "ComputeSecurityGroup"),
            ("HeadNodeIngressFromLoginNodes", "HeadNodeSecurityGroup", nodeGroup),
            ("ComputeIngressFromLoginNodes", "ComputeSecurityGroup", nodeGroup),
        ]
        for (name, group, source) in rules {
            resources[Self.logicalId(name, pool.name)] = [
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": [
                    "GroupId": ["Ref": .string(group)], "SourceSecurityGroupId": ["Ref": .string(source)], "IpProtocol": "-1",
                    "Description": .string("All traffic between login node pool \(pool.name) and the cluster"),
                ],
            ]
        }
    }

    /// A login node reads its own tags and the head node's address, the cluster's munge key and slurm.conf, and
    /// tells its Auto Scaling group that it booted.
    func loginRole(_ pool: Pool, into resources: inout JSONObject) {
        let role = Self.logicalId("LoginNodesRole", pool.name)
        resources[role] = [
            "Type": "AWS::IAM::Role",
            "Properties": [
                "AssumeRolePolicyDocument": Self.assumeByEC2,
                "ManagedPolicyArns": .array(
                    uniqueArns(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] + pool.additionalIamPolicies.map(\.arn))),
                "Policies": [
                    [
                        "PolicyName": "parallelcluster-login-node",
                        "PolicyDocument": [
                            "Version": "2012-10-17",
                            "Statement": .array(
                                joinStatements(reading: ["munge.key", "slurm/*"]) + [
                                    [
                                        "Effect": "Allow", "Action": ["autoscaling:CompleteLifecycleAction"],
                                        "Resource": [
                                            "Fn::Sub": .string(
                                                "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/\(autoScalingGroupName(pool.name))"
                                            )
                                        ],
                                    ]
                                ]),
                        ],
                    ]
                ],
                "Tags": tags([("parallelcluster:node-type", "LoginNode"), ("parallelcluster:login-nodes-pool", pool.name)]),
            ],
        ]
        resources[Self.logicalId("LoginNodesInstanceProfile", pool.name)] = [
            "Type": "AWS::IAM::InstanceProfile", "Properties": ["Roles": [["Ref": .string(role)]]],
        ]
    }

    func loginLaunchTemplate(_ pool: Pool, nodeGroup: String, into resources: inout JSONObject) {
        var data: JSONObject = [
            "ImageId": pool.customAmi.map { .string($0) } ?? ["Ref": "ImageId"],
            "InstanceType": .string(pool.instanceType),
            "IamInstanceProfile": ["Arn": ["Fn::GetAtt": [.string(Self.logicalId("LoginNodesInstanceProfile", pool.name)), "Arn"]]],
            "MetadataOptions": metadataOptions,
            "BlockDeviceMappings": rootVolume(nil),
            "NetworkInterfaces": [
                [
                    "DeviceIndex": 0, "SubnetId": .string(pool.subnetIds.first ?? ""), "Groups": .array(loginGroups(pool, managed: nodeGroup)),
                    "DeleteOnTermination": true,
                ]
            ],
            "UserData": ["Fn::Base64": ["Fn::Sub": .string(loginUserData(pool: pool.name))]],
        ]
        // As the original: login nodes take the head node's key pair.
        if let key = config.headNode.keyName { data["KeyName"] = .string(key) }
        let nodeTags = tags([("parallelcluster:node-type", "LoginNode"), ("parallelcluster:login-nodes-pool", pool.name)])
        data["TagSpecifications"] = [["ResourceType": "instance", "Tags": nodeTags], ["ResourceType": "volume", "Tags": nodeTags]]
        resources[Self.logicalId("LoginNodesLaunchTemplate", pool.name)] = [
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": ["LaunchTemplateName": .string("\(clusterName)-\(pool.name)-login"), "LaunchTemplateData": .object(data)],
        ]
    }

    /// A login node's first boot: the shared storage, the cluster's munge key and the slurm.conf the head node
    /// publishes (kept current by a timer, since update-cluster changes it), SLURM_CONF for every login shell,
    /// then the Auto Scaling group told the node is ready. No slurmd: a login node submits jobs, it runs none.
    func loginUserData(pool: String) -> String {
        let dir = Self.clusterDirectory
        let layout = LocalLayout(root: URL(fileURLWithPath: dir))
        let socket = layout.mungeSocket, socketDir = layout.mungeSocketDirectory
        let published = "s3://${ConfigBucket}/parallelcluster/\(version)/clusters/${AWS::StackName}"
        let lines: [String] = [
            "#!/bin/bash",
            "set -euo pipefail",
            "exec > >(tee -a /var/log/parallelcluster-init.log) 2>&1",
            "export AWS_REGION=${AWS::Region}",
            "command -v sbatch >/dev/null || (dnf install -y slurm munge || yum install -y slurm munge || apt-get install -y slurm-client munge)",
        ]
        let join: [String] = [
            "token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
            "me=$(curl -sf -H \"X-aws-ec2-metadata-token: ${!token}\" http://169.254.169.254/latest/meta-data/instance-id)",
            "mkdir -p \(dir)/munge \(dir)/etc \(dir)/run \(dir)/log",
            "aws s3 cp \(published)/munge.key \(dir)/munge/munge.key",
            "chown -R munge:munge \(dir)/munge && chmod 0755 \(dir)/munge && chmod 0400 \(dir)/munge/munge.key",
            "mkdir -p \(socketDir) && chown munge:munge \(socketDir) && chmod 0755 \(socketDir)",
            "runuser -u munge -- munged --socket=\(socket) --key-file=\(dir)/munge/munge.key --pid-file=\(dir)/munge/munged.pid",
            "aws s3 cp \(published)/slurm/slurm.conf \(dir)/etc/slurm.conf",
            "echo 'export SLURM_CONF=\(dir)/etc/slurm.conf' > /etc/profile.d/parallelcluster-slurm.sh",
            // update-cluster changes slurm.conf on the head node, which publishes it again: fetch it every minute.
            "cat > /etc/systemd/system/parallelcluster-slurm-conf.service <<EOF",
            "[Service]",
            "Type=oneshot",
            "Environment=AWS_REGION=${AWS::Region}",
            "ExecStart=/bin/sh -c 'aws s3 cp \(published)/slurm/slurm.conf \(dir)/etc/slurm.conf.new && mv \(dir)/etc/slurm.conf.new \(dir)/etc/slurm.conf'",
            "EOF",
            "cat > /etc/systemd/system/parallelcluster-slurm-conf.timer <<EOF",
            "[Timer]",
            "OnBootSec=60",
            "OnUnitActiveSec=60",
            "[Install]",
            "WantedBy=timers.target",
            "EOF",
            "systemctl daemon-reload && systemctl enable --now parallelcluster-slurm-conf.timer || true",
            "echo \"cluster \(clusterName): login node ${!me} of pool \(pool) ready\"",
            "aws autoscaling complete-lifecycle-action --auto-scaling-group-name \(autoScalingGroupName(pool)) --lifecycle-hook-name \(launchingHookName(pool)) --instance-id ${!me} --lifecycle-action-result CONTINUE",
        ]
        return (lines + sharedStorageMounts() + join).joined(separator: "\n") + "\n"
    }
}
