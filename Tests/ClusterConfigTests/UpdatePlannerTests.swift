import ClusterConfig
import Testing

@Suite("update-cluster change sets and update policies")
struct UpdatePlannerTests {
    func plan(_ old: String, _ new: String, fleetStopped: Bool) throws -> [ConfigChange] {
        let a = try ConfigLoader.parse(text: old, file: "old.yaml", environment: [:]).0
        let b = try ConfigLoader.parse(text: new, file: "new.yaml", environment: [:]).0
        return UpdatePlanner.plan(current: a, requested: b, conditions: UpdateConditions(computeFleetStopped: fleetStopped))
    }

    @Test func maxCountIncreaseIsSupportedWhileRunning() throws {
        let changes = try plan(Fixtures.minimal, Fixtures.minimal.replacingOccurrences(of: "MaxCount: 4", with: "MaxCount: 8"), fleetStopped: false)
        let c = try #require(changes.first)
        #expect(changes.count == 1)
        #expect(c.parameter == "Scheduling.SlurmQueues[q1].ComputeResources[cr1].MaxCount")
        #expect(c.currentValue == 4 && c.requestedValue == 8)
        #expect(c.policy == .maxCount && c.blockedReason == nil)
        #expect(c.location?.line == 17)
    }

    /// A section the update adds is judged field by field: its ScaledownIdletime needs the fleet stopped.
    @Test func fieldsOfAnAddedSectionKeepTheirPolicies() throws {
        let new = Fixtures.minimal.replacingOccurrences(
            of: "  Scheduler: slurm\n", with: "  Scheduler: slurm\n  SlurmSettings:\n    ScaledownIdletime: 20\n")
        #expect(new != Fixtures.minimal)
        let running = try plan(Fixtures.minimal, new, fleetStopped: false)
        let c = try #require(running.first)
        #expect(running.count == 1)
        #expect(c.parameter == "Scheduling.SlurmSettings.ScaledownIdletime" && c.policy == .computeFleetStop)
        #expect(c.currentValue == .null && c.requestedValue == 20 && c.blockedReason != nil)
        #expect(try plan(Fixtures.minimal, new, fleetStopped: true).first?.blockedReason == nil)
        // And removed: the same field, the other way.
        #expect(try plan(new, Fixtures.minimal, fleetStopped: false).first?.blockedReason != nil)
    }

    @Test func maxCountDecreaseNeedsTheFleetStopped() throws {
        let new = Fixtures.minimal.replacingOccurrences(of: "MaxCount: 4", with: "MaxCount: 2")
        #expect(try plan(Fixtures.minimal, new, fleetStopped: false).first?.blockedReason != nil)
        #expect(try plan(Fixtures.minimal, new, fleetStopped: true).first?.blockedReason == nil)
    }

    @Test func scaledownIdletimeNeedsTheFleetStopped() throws {
        let old = Fixtures.minimal.replacingOccurrences(
            of: "  Scheduler: slurm\n", with: "  Scheduler: slurm\n  SlurmSettings:\n    ScaledownIdletime: 10\n")
        let new = old.replacingOccurrences(of: "ScaledownIdletime: 10", with: "ScaledownIdletime: 2")
        let running = try #require(try plan(old, new, fleetStopped: false).first)
        #expect(running.policy == .computeFleetStop)
        #expect(running.blockedReason?.contains("STOP_REQUESTED") == true)
        #expect(try plan(old, new, fleetStopped: true).first?.blockedReason == nil)
    }

    @Test func unsupportedChangesNeedANewCluster() throws {
        let changes = try plan(Fixtures.minimal, Fixtures.minimal.replacingOccurrences(of: "c6i.2xlarge", with: "c6i.4xlarge"), fleetStopped: true)
        let c = try #require(changes.first)
        #expect(c.parameter == "HeadNode.InstanceType")
        #expect(c.policy == .unsupported)
        #expect(c.blockedReason?.contains("new cluster") == true)
    }

    @Test func addedAndRemovedQueuesAreKeyedByName() throws {
        let added =
            Fixtures.minimal + """

                    - Name: q2
                      ComputeResources:
                        - Name: cr2
                          InstanceType: c5.large
                      Networking:
                        SubnetIds:
                          - subnet-0123456789abcdef0
                """
        let changes = try plan(Fixtures.minimal, added, fleetStopped: false)
        let c = try #require(changes.first)
        #expect(c.parameter == "Scheduling.SlurmQueues")
        #expect(c.currentValue == .null)
        #expect(c.requestedValue["Name"] == "q2")
        #expect(c.blockedReason == nil)
        let removed = try plan(added, Fixtures.minimal, fleetStopped: false)
        #expect(removed.first?.blockedReason != nil)
    }

    @Test func identicalConfigsHaveNoChanges() throws {
        #expect(try plan(Fixtures.minimal, Fixtures.minimal, fleetStopped: false).isEmpty)
    }
}
