import Foundation
import Testing

@testable import PClusterCLI

/// The log commands' request values, as the original takes them, and the times of local log lines.
@Suite struct LogRequestTests {
    @Test func requestTimesAreISO8601AsTheOriginalTakesThem() {
        #expect(LogTime.parse("1984-09-15T19:20:30Z") == Date(timeIntervalSince1970: 464_124_030))
        #expect(LogTime.parse("1984-09-15") == Date(timeIntervalSince1970: 464_054_400))
        #expect(LogTime.parse("1984-09-15T21:20:30+02:00") == Date(timeIntervalSince1970: 464_124_030))
        #expect(LogTime.parse("yesterday") == nil)
        #expect(LogTime.parse("15/09/1984") == nil)
    }

    @Test func logLinesCarryTheirOwnTimes() {
        let base = Date(timeIntervalSince1970: 464_124_030)
        #expect(LogTime.leading("[1984-09-15T19:20:30.500] slurmctld version 22.05") == base + 0.5)
        #expect(LogTime.leading("1984-09-15T21:20:30+0200 info agent: resumed") == base)
        #expect(LogTime.leading("1984-09-15 19:20:30 something") == base)
        #expect(LogTime.leading("    continuation of the line above") == nil)
    }

    @Test func filtersAreTheOriginalsFormAndChooseStreams() {
        let bad = ListClusterLogStreams.parseOrExit(["-n", "demo-cluster", "--filters", "Name=foo,Values=x"]).refusal()
        #expect(
            bad?.json?["message"]?.stringValue?.hasPrefix("Bad Request: provided filters parameter 'Name=foo,Values=x' must be in the form") == true)
        let good = ListClusterLogStreams.parseOrExit(["-n", "demo-cluster", "--filters", "Name=node-type,Values=ComputeNode"])
        #expect(good.refusal() == nil)
        #expect(ListClusterLogStreams.matches("slurmd-c6i-dy-compute-1", filters: ["Name=node-type,Values=ComputeNode"]))
        #expect(!ListClusterLogStreams.matches("slurmctld", filters: ["Name=node-type,Values=ComputeNode"]))
        #expect(ListClusterLogStreams.matches("slurmctld", filters: ["Name=node-type,Values=HeadNode"]))
        #expect(ListClusterLogStreams.matches("slurmd-c6i-dy-compute-1", filters: ["Name=private-dns-name,Values=c6i-dy-compute-1,x"]))
        let badTime = GetClusterLogEvents.parseOrExit(["-n", "demo-cluster", "--log-stream-name", "x", "--start-time", "bad"]).refusal()
        #expect(
            badTime?.json?["message"]
                == "Bad Request: start_time filter must be in the ISO 8601 format: YYYY-MM-DDThh:mm:ssZ. (e.g. 1984-09-15T19:20:30Z or 1984-09-15).")
    }
}
