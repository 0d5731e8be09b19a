import Foundation
import Synchronization
import Testing

@testable import LocalCluster
@testable import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

/// Decisions of the cluster-manager pass and the resume path that need no Slurm: the agent's scontrol calls
/// are skipped without a slurm.conf, and the launcher records what it was asked to do.
struct NodeAgentPassTests {
    /// Every node has a running instance, launched at `launched`.
    final class Launcher: InstanceLauncher, @unchecked Sendable {
        let launched: Date
        let registrationDeadline: TimeInterval?
        private let lock = NSLock()
        private var relaunched: [String] = []
        init(launched: Date, registrationDeadline: TimeInterval?) {
            self.launched = launched
            self.registrationDeadline = registrationDeadline
        }
        var launches: [String] { lock.withLock { relaunched } }

        func launch(_ node: LocalNode) throws { lock.withLock { relaunched.append(node.name) } }
        func terminate(_ name: String, reason: String) {}
        func isRunning(_ name: String) -> Bool { true }
        func launchTime(of name: String) -> Date? { launched }
    }

    func agent(_ launcher: Launcher) throws -> (NodeAgent, LocalLayout, URL) {
        let (spec, _) = try SlurmConfTests().spec()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pass-\(UUID().uuidString)")
        let layout = LocalLayout(root: root)
        try spec.write(to: layout)
        return (try NodeAgent(clusterDirectory: root.path, launcher: launcher), layout, root)
    }

    static let states = SlurmNodeState.parse(
        """
        NodeName=c6i-dy-compute-1 State=IDLE+CLOUD+NOT_RESPONDING+POWERING_UP ThreadsPerCore=1
        NodeName=c6i-dy-compute-2 State=IDLE+CLOUD ThreadsPerCore=1
        """)

    /// A node powering up whose instance has run past the launcher's registration deadline without
    /// registering is launched again; one that registered, or is still within the deadline, is left alone.
    @Test func anInstanceThatNeverRegisteredIsLaunchedAgain() async throws {
        let late = Launcher(launched: Date().addingTimeInterval(-45), registrationDeadline: 30)
        let (agent, layout, root) = try agent(late)
        defer { try? FileManager.default.removeItem(at: root) }
        await agent.relaunchUnregistered(Self.states, running: ["c6i-dy-compute-1", "c6i-dy-compute-2"])
        #expect(late.launches == ["c6i-dy-compute-1"])
        #expect(EventLog(layout: layout).all().contains { $0.status == "RELAUNCH" && $0.resource == "c6i-dy-compute-1" })

        let recent = Launcher(launched: Date().addingTimeInterval(-5), registrationDeadline: 30)
        let (second, _, secondRoot) = try self.agent(recent)
        defer { try? FileManager.default.removeItem(at: secondRoot) }
        await second.relaunchUnregistered(Self.states, running: ["c6i-dy-compute-1", "c6i-dy-compute-2"])
        #expect(recent.launches.isEmpty)
    }

    /// Where booting has no known bound (EC2), Slurm's ResumeTimeout decides, not the agent.
    /// What makes the agent ask slurmctld to save its state: nodes that became ready since the last pass.
    @Test func nodesThatBecameReadyAreTheOnesWhoseStateIsSaved() {
        func node(_ name: String, _ state: String) -> (String, SlurmNodeState) {
            let parts = state.split(separator: "+").map(String.init)
            return (name, SlurmNodeState(name: name, base: parts[0], flags: Set(parts.dropFirst()), reason: nil))
        }
        let states = Dictionary(uniqueKeysWithValues: [
            node("a", "MIXED+CLOUD"), node("b", "IDLE+CLOUD+POWERED_DOWN"),
            node("c", "IDLE+CLOUD+POWERING_UP"), node("d", "ALLOCATED+CLOUD"),
            node("e", "IDLE+CLOUD+NOT_RESPONDING"),
        ])
        #expect(NodeAgent.newlyReady(previously: [], now: states) == ["a", "d"])
        #expect(NodeAgent.newlyReady(previously: ["a"], now: states) == ["d"])
        #expect(NodeAgent.newlyReady(previously: ["a", "d"], now: states).isEmpty)
        // ... once no node is still powering up: a large resume trickling in is saved once, at its end.
        #expect(NodeAgent.isSettling(states))
        #expect(!NodeAgent.isSettling(states.filter { $0.key != "c" }))
        #expect(NodeAgent.isSettling(Dictionary(uniqueKeysWithValues: [node("f", "IDLE+CLOUD+POWERED_DOWN+POWER_UP")])))
    }

    /// Blocking work on threads of its own: every index once, the results in index order, never more than
    /// `width` at a time.
    @Test func concurrentlyRunsEachIndexOnceWithinItsWidth() async {
        let running = Mutex((now: 0, most: 0))
        let results = await ProcessControl.concurrently(40, width: 4) { index in
            running.withLock {
                $0.now += 1; $0.most = max($0.most, $0.now)
            }
            usleep(2_000)
            running.withLock { $0.now -= 1 }
            return index * index
        }
        #expect(results == (0..<40).map { $0 * $0 })
        #expect(running.withLock { $0.most } <= 4)
        #expect(await ProcessControl.concurrently(0, width: 4) { $0 }.isEmpty)
    }

    @Test func withoutADeadlineNothingIsRelaunched() async throws {
        let launcher = Launcher(launched: Date().addingTimeInterval(-3600), registrationDeadline: nil)
        let (agent, _, root) = try agent(launcher)
        defer { try? FileManager.default.removeItem(at: root) }
        await agent.relaunchUnregistered(Self.states, running: ["c6i-dy-compute-1"])
        #expect(launcher.launches.isEmpty)
    }

    /// Slurm's resume path starts slurmd processes in a later wall-clock second than the one it was called in,
    /// so their boot time is never earlier than slurmctld's boot request.
    @Test func resumeStartsSlurmdInTheNextSecond() async throws {
        let (spec, _) = try SlurmConfTests().spec()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = LocalLayout(root: root)
        try spec.write(to: layout)
        var node = try #require(spec.nodes.first)
        // A port someone else listens on: the launch fails at once, so only the wait before it is measured.
        node.port = try PortAllocator.allocate(1, avoiding: [])[0]
        let squatter = try #require(ClustersAsRoot.LocalClusterIntegrationTests.listen(on: node.port))
        defer { close(squatter) }

        let called = floor(Date().timeIntervalSince1970)
        let outcome = await SlurmdLauncher(layout: layout).launch([node])
        #expect(floor(Date().timeIntervalSince1970) > called)
        guard case .failure(let error) = outcome[node.name] else {
            Issue.record("the launch on a taken port succeeded")
            return
        }
        #expect("\(error)".contains("port \(node.port) of \(node.name) on 127.0.0.1 is in use"))
        await #expect(SlurmdLauncher(layout: layout).launch([]).isEmpty)
    }
}
