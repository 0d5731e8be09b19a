import Foundation
import Provisioning
import Testing

@testable import LocalCluster

/// The FSx ClientRequestTokens of a cluster's creation: the same for a retry of it, never shared with a
/// cluster of the same name in another region or made again, and in FSx's form.
@Suite struct RequestTokenTests {
    func record(_ name: String, _ region: String, created: TimeInterval) -> ClusterRecord {
        ClusterRecord(
            name: name, region: region, version: "3.16.1", clusterStatus: .createInProgress, computeFleetStatus: .running,
            creationTime: Date(timeIntervalSince1970: created), lastUpdatedTime: Date(timeIntervalSince1970: created), provider: .local)
    }

    @Test func tokensBelongToOneCreation() {
        let long = String(repeating: "a", count: 60)
        let first = RequestTokens(record: record(long, "us-east-1", created: 1_000))
        #expect(first.token("FSx") == RequestTokens(record: record(long, "us-east-1", created: 1_000)).token("FSx"))
        let others = [
            RequestTokens(record: record(long, "eu-west-1", created: 1_000)).token("FSx"),
            RequestTokens(record: record(long, "us-east-1", created: 2_000)).token("FSx"),
            first.token("FSx", "dra"), first.token("Other"),
        ]
        #expect(!others.contains(first.token("FSx")) && Set(others).count == others.count)
        for token in others + [first.token("FSx")] {
            #expect(token.count <= 63 && token.range(of: "^[A-Za-z0-9-]+$", options: .regularExpression) != nil, "\(token)")
        }
    }
}
