import ClusterConfig
import Foundation
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

@Suite struct HostlistTests {
    @Test func expandsAndCompressesSlurmHostLists() {
        #expect(
            Hostlist.expand("c6i-dy-compute-[1-3,7],gpu-st-a100-1")
                == ["c6i-dy-compute-1", "c6i-dy-compute-2", "c6i-dy-compute-3", "c6i-dy-compute-7", "gpu-st-a100-1"])
        #expect(Hostlist.expand("n[08-10]") == ["n08", "n09", "n10"])
        #expect(Hostlist.expand("plain") == ["plain"])
        #expect(Hostlist.compress(["q-dy-c-1", "q-dy-c-2", "q-dy-c-3", "q-dy-c-5", "q-st-c-1"]) == "q-dy-c-[1-3,5],q-st-c-1")
        let names = (1...40).map { "c6i-dy-compute-\($0)" }
        #expect(Hostlist.expand(Hostlist.compress(names)) == names)
    }

    @Test func parsesTheOriginalsNodeNames() throws {
        let name = try #require(NodeName("gpu-queue-dy-a100-x-12"))
        #expect(name.queue == "gpu-queue" && !name.isStatic && name.computeResource == "a100-x" && name.index == 12)
        #expect(NodeName("c6i-st-compute-1")?.isStatic == true)
        #expect(NodeName("localhost") == nil)
        #expect(NodeName("q-dy-c-") == nil)
    }

    @Test func readsNodeStatesFromScontrol() {
        let output = """
            NodeName=c6i-dy-compute-1 Arch=x86_64 CoresPerSocket=1 CPUAlloc=0 State=IDLE+CLOUD+POWERED_DOWN ThreadsPerCore=1 Reason=powered down by Slurm [root@2026]
            NodeName=c6i-dy-compute-2 Arch=x86_64 State=MIXED+CLOUD+POWERING_UP ThreadsPerCore=1
            NodeName=c6i-st-compute-1 Arch=x86_64 State=IDLE+CLOUD ThreadsPerCore=1
            """
        let states = SlurmNodeState.parse(output)
        #expect(states["c6i-dy-compute-1"]?.isPoweredDown == true)
        #expect(states["c6i-dy-compute-1"]?.reason == "powered down by Slurm [root@2026]")
        #expect(states["c6i-dy-compute-2"]?.isPoweringUp == true && states["c6i-dy-compute-2"]?.isReady == false)
        #expect(states["c6i-st-compute-1"]?.isReady == true)
        // Asked to power up, before slurmctld's power-save pass has run the ResumeProgram.
        let asked = SlurmNodeState.parse("NodeName=c6i-st-compute-1 State=IDLE+CLOUD+POWERED_DOWN+POWER_UP ThreadsPerCore=1")
        #expect(asked["c6i-st-compute-1"]?.isPoweringUp == true)
    }

    /// The orphan rule of the cluster-manager pass: an instance is an orphan only if it was already running
    /// when Slurm said its node is powered down, so a resume racing the pass never loses its new instance.
    @Test func onlyInstancesOlderThanSlurmsAnswerAreOrphans() throws {
        let (spec, _) = try SlurmConfTests().spec()
        let states = SlurmNodeState.parse(
            """
            NodeName=c6i-dy-compute-1 State=IDLE+CLOUD+POWERED_DOWN ThreadsPerCore=1
            NodeName=c6i-dy-compute-2 State=IDLE+CLOUD+POWERED_DOWN+POWER_UP ThreadsPerCore=1
            """)
        // compute-1 had an instance before Slurm answered: an orphan. compute-2 is asked to power up.
        #expect(
            NodeAgent.orphans(spec.nodes, states: states, runningBefore: ["c6i-dy-compute-1", "c6i-dy-compute-2"], keepNone: false)
                == ["c6i-dy-compute-1"])
        // An instance the resume launched after Slurm's answer is not in the snapshot, so it stays.
        #expect(NodeAgent.orphans(spec.nodes, states: states, runningBefore: [], keepNone: false).isEmpty)
        // A stopped fleet keeps nothing.
        #expect(NodeAgent.orphans(spec.nodes, states: states, runningBefore: ["c6i-dy-compute-2"], keepNone: true) == ["c6i-dy-compute-2"])
    }

    /// Cluster daemons listen below the kernel's ephemeral ports, which outgoing connections take at any moment.
    @Test func listeningPortsStayBelowTheEphemeralRange() throws {
        #expect(PortAllocator.listeningRange(ephemeral: 32768...60999) == 20000...32767)
        #expect(PortAllocator.listeningRange(ephemeral: 21000...60999) == 20000...39999)  // too little room below
        #expect(PortAllocator.listeningRange(ephemeral: nil) == 20000...39999)
        let range = PortAllocator.listeningRange()
        let ports = try PortAllocator.allocate(3, avoiding: [])
        #expect(ports.count == 3 && ports.allSatisfy { range.contains($0) && PortAllocator.isFree($0) })
        if let ephemeral = PortAllocator.ephemeralRange(), ephemeral.lowerBound - 20000 >= 2000 {
            #expect(ports.allSatisfy { !ephemeral.contains($0) })
        }
    }
}

@Suite struct SlurmConfTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/cluster.yaml").path

    func spec(_ yaml: String? = nil) throws -> (LocalClusterSpec, LocalLayout) {
        let environment = ["SUBNET_ID": "subnet-0123456789abcdef0", "FSX_FS_ID": "fs-0123456789abcdef0"]
        let result: ValidationResult
        if let yaml {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("conf-\(UUID().uuidString).yaml").path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            result = try ConfigValidation.validate(path: path, environment: environment, clusterName: "demo", region: nil)
        } else {
            result = try ConfigValidation.validate(path: Self.example, environment: environment, clusterName: "demo", region: nil)
        }
        let config = try #require(result.config)
        var ports = Array(30001...30100)
        let nodes = try LocalNodePlanner.nodes(for: config, ports: &ports)
        let spec = LocalClusterSpec(
            clusterName: "demo", slurmClusterName: "demo", controllerHost: "head", controllerPort: 30000,
            agentExecutable: "/x/pcluster-agent", headNodeInstanceId: "i-0123456789abcdef0",
            headNodeInstanceType: config.headNode.instanceType,
            scaledownIdletimeMinutes: config.scheduling.scaledownIdletime, nodes: nodes,
            queues: config.scheduling.queues.map(\.name), createdAt: Date(), fastJobStart: true)
        return (spec, LocalLayout(root: URL(fileURLWithPath: "/state/regions/us-east-1/demo")))
    }

    @Test func theWorkshopConfigBecomesTwoDynamicCloudNodesOfC6i32xlarge() throws {
        let (spec, layout) = try spec()
        let text = SlurmConf.render(spec: spec, layout: layout)
        #expect(spec.nodes.map(\.name) == ["c6i-dy-compute-1", "c6i-dy-compute-2"])
        #expect(
            text.contains(
                "NodeName=c6i-dy-compute-1 NodeAddr=127.0.0.1 NodeHostname=c6i-dy-compute-1 Port=30001 CPUs=128 RealMemory=262144 State=CLOUD Feature=dynamic,c6i.32xlarge,compute,efa Weight=1000"
            ))
        #expect(text.contains("PartitionName=c6i Nodes=c6i-dy-compute-[1-2] Default=YES MaxTime=INFINITE State=UP"))
        #expect(text.contains("SuspendTime=600"))  // ScaledownIdletime defaults to 10 minutes
        #expect(text.contains("SlurmctldHost=head(127.0.0.1)\nSlurmctldPort=30000"))
        #expect(text.contains("AuthInfo=socket=\(layout.spool)-munge/munge.sock"))
        #expect(text.contains("ResumeProgram=/state/regions/us-east-1/demo/bin/resume"))
        #expect(text.contains("PrologSlurmctld=/state/regions/us-east-1/demo/bin/prolog-slurmctld"))
        #expect(text.contains("PrivateData=cloud") && text.contains("SlurmdParameters=config_overrides"))
        #expect(!text.contains("SuspendExcNodes"))
        #expect(!text.lowercased().contains("localhost"))
        #expect(text.contains("SlurmdSpoolDir=/run/pcs-"))
        #expect(layout.longestNodeName >= 30)
    }

    @Test func staticNodesAreExcludedFromSuspendAndWeighted() throws {
        let yaml = """
            Region: us-east-1
            Image:
              Os: alinux2023
            HeadNode:
              InstanceType: t3.medium
              Networking:
                SubnetId: subnet-0123456789abcdef0
            Scheduling:
              Scheduler: slurm
              SlurmSettings:
                ScaledownIdletime: 3
              SlurmQueues:
                - Name: cpu
                  ComputeResources:
                    - Name: small
                      InstanceType: c5.xlarge
                      MinCount: 2
                      MaxCount: 5
                      StaticNodePriority: 7
                      DynamicNodePriority: 9
                  Networking:
                    SubnetIds: [subnet-0123456789abcdef0]
                - Name: mem
                  ComputeResources:
                    - Name: big
                      InstanceType: r5.2xlarge
                      DisableSimultaneousMultithreading: true
                      MaxCount: 1
                  Networking:
                    SubnetIds: [subnet-0123456789abcdef0]
            """
        let (spec, layout) = try spec(yaml)
        let text = SlurmConf.render(spec: spec, layout: layout)
        #expect(spec.nodes.map(\.name) == ["cpu-st-small-1", "cpu-st-small-2", "cpu-dy-small-1", "cpu-dy-small-2", "cpu-dy-small-3", "mem-dy-big-1"])
        #expect(text.contains("SuspendExcNodes=cpu-st-small-[1-2]"))
        #expect(text.contains("SuspendTime=180"))
        #expect(
            text.contains(
                "NodeName=cpu-st-small-1 NodeAddr=127.0.0.1 NodeHostname=cpu-st-small-1 Port=30001 CPUs=4 RealMemory=8192 State=CLOUD Feature=static,c5.xlarge,small Weight=7"
            ))
        #expect(text.contains("Feature=dynamic,c5.xlarge,small Weight=9"))
        // Multithreading off: the cores, not the vCPUs.
        #expect(text.contains("NodeName=mem-dy-big-1 NodeAddr=127.0.0.1 NodeHostname=mem-dy-big-1 Port=30006 CPUs=4 RealMemory=65536"))
        #expect(
            text.contains("PartitionName=cpu Nodes=cpu-st-small-[1-2],cpu-dy-small-[1-3] Default=YES")
                || text.contains("PartitionName=cpu Nodes=cpu-dy-small-[1-3],cpu-st-small-[1-2] Default=YES"))
        #expect(text.contains("PartitionName=mem Nodes=mem-dy-big-1 Default=NO"))
        #expect(Set(spec.nodes.map(\.port)).count == spec.nodes.count)
    }
}
