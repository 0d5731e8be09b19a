import Foundation
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

/// The node agent's resume with a launcher that has no capacity for one node: that node fails with the
/// launcher's code, its compute resource is held for the original's 600 s, and the hold ends on the
/// cluster-manager pass after it expires. (No Slurm here: the agent's scontrol calls are skipped without a
/// slurm.conf; the real Slurm side of resume is in AWSHeadNodeTests.)
struct CapacityHoldTests {
    struct NoCapacity: NodeLaunchFailure, CustomStringConvertible {
        var code: String { "InsufficientInstanceCapacity" }
        var isInsufficientCapacity: Bool { true }
        var description: String { "InsufficientInstanceCapacity: no c6i.32xlarge capacity in us-east-1a" }
    }

    /// Launches every node but those it was told have no capacity.
    final class Launcher: InstanceLauncher, @unchecked Sendable {
        let refused: Set<String>
        private let lock = NSLock()
        private var launched: [String] = []
        init(refusing refused: Set<String>) { self.refused = refused }
        var started: [String] { lock.withLock { launched } }

        func launch(_ node: LocalNode) throws {
            if refused.contains(node.name) { throw NoCapacity() }
            lock.withLock { launched.append(node.name) }
        }
        func terminate(_ name: String, reason: String) {}
        func isRunning(_ name: String) -> Bool { started.contains(name) }
    }

    @Test func aNodeWithoutCapacityHoldsItsComputeResource() async throws {
        let (spec, _) = try SlurmConfTests().spec()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("capacity-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = LocalLayout(root: root)
        try spec.write(to: layout)
        let launcher = Launcher(refusing: ["c6i-dy-compute-2"])
        let agent = try NodeAgent(clusterDirectory: root.path, launcher: launcher)

        await agent.resume("c6i-dy-compute-[1-2]")
        #expect(launcher.started == ["c6i-dy-compute-1"])
        let events = EventLog(layout: layout).all()
        let failed = try #require(events.first { $0.status == "RESUME_FAILED" })
        #expect(failed.resource == "c6i-dy-compute-2" && failed.reason.contains("InsufficientInstanceCapacity"))
        let holds = agent.capacityHolds()
        let until = try #require(holds["c6i/compute"])
        #expect(abs(until.timeIntervalSinceNow - NodeAgent.insufficientCapacityHold) < 30)
        #expect(events.contains { $0.status == "CAPACITY_HOLD" && $0.resource == "c6i/compute" })

        // Not yet expired: the pass keeps it. Expired: the pass ends it.
        await agent.releaseCapacityHolds()
        #expect(agent.capacityHolds()["c6i/compute"] != nil)
        try JSONEncoder().encode(["c6i/compute": Date().addingTimeInterval(-1)]).write(to: URL(fileURLWithPath: layout.capacityHolds))
        await agent.releaseCapacityHolds()
        #expect(agent.capacityHolds().isEmpty)
        #expect(EventLog(layout: layout).all().contains { $0.status == "CAPACITY_HOLD_ENDED" })
    }
}
