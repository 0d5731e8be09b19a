import Foundation
import JSONOutput
import Provisioning
import TestSupport
import Testing

@testable import PClusterCLI

/// --next-token on a local cluster's logs and stack events: every page walked, nothing repeated or lost, in
/// the shapes the original's models read.
@Suite struct PaginationTests {
    let cli = CLITests()
    let name = "paged-cluster"

    /// A cluster record and, in its log directory, `streams` log files, one of them with `lines` lines.
    func makeCluster(streams: Int, lines: Int) throws -> URL {
        let now = Date()
        let store = ClusterStore(root: cli.stateDir)
        try store.save(
            ClusterRecord(
                name: name, region: "us-east-1", version: PClusterVersion.original, clusterStatus: .createComplete,
                computeFleetStatus: .running, creationTime: now, lastUpdatedTime: now, provider: .local),
            configuration: "Region: us-east-1\n")
        let logs = try #require(try store.locate(name)).appendingPathComponent("log")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        for index in 0..<streams {
            try "".write(to: logs.appendingPathComponent(String(format: "node-%03d.log", index)), atomically: true, encoding: .utf8)
        }
        let text = (0..<lines).map { String(format: "[2026-11-28T00:%02d:%02d.000] line %d", $0 / 60, $0 % 60, $0) }.joined(separator: "\n")
        try text.write(to: logs.appendingPathComponent("slurmctld.log"), atomically: true, encoding: .utf8)
        return logs
    }

    @Test func logStreamsComeInPagesOfFifty() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        _ = try makeCluster(streams: 120, lines: 1)
        var names: [String] = [], pages = 0, token: String? = nil
        repeat {
            let (json, r) = try await cli.run(["list-cluster-log-streams", "-n", name] + (token.map { ["--next-token", $0] } ?? []))
            #expect(r.exitCode == 0, "\(r.stdout)")
            names += json?["logStreams"]?.arrayValue?.compactMap { $0["logStreamName"]?.stringValue } ?? []
            token = json?["nextToken"]?.stringValue
            pages += 1
        } while token != nil && pages < 10
        #expect(pages == 3)
        #expect(names == (0..<120).map { String(format: "node-%03d", $0) } + ["slurmctld"])
        let (bad, br) = try await cli.run("list-cluster-log-streams", "-n", name, "--next-token", "f/3")
        #expect(br.exitCode == 1 && bad?["message"]?.stringValue?.contains("next token 'f/3'") == true)
    }

    @Test func logEventsPageForwardAndBackward() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        _ = try makeCluster(streams: 0, lines: 25)
        func events(_ extra: String...) async throws -> (lines: [String], next: String?, previous: String?) {
            let (json, r) = try await cli.run(["get-cluster-log-events", "-n", name, "--log-stream-name", "slurmctld"] + extra)
            #expect(r.exitCode == 0, "\(r.stdout)")
            let lines = json?["events"]?.arrayValue?.compactMap { $0["message"]?.stringValue?.split(separator: " ").last.map(String.init) } ?? []
            return (lines, json?["nextToken"]?.stringValue, json?["prevToken"]?.stringValue)
        }
        // The newest first page by default, the oldest with --start-from-head, as GetLogEvents.
        #expect(try await events("--limit", "10").lines == (15..<25).map(String.init))
        var page = try await events("--limit", "10", "--start-from-head", "true")
        #expect(page.lines == (0..<10).map(String.init))
        var seen = page.lines
        for _ in 0..<5 {
            guard let next = page.next else { break }
            page = try await events("--limit", "10", "--next-token", next)
            if page.lines.isEmpty {
                // The end of the stream: the forward token passed in comes back.
                #expect(page.next == next)
                break
            }
            seen += page.lines
        }
        #expect(seen == (0..<25).map(String.init))
        let back = try await events("--limit", "10", "--next-token", try #require(page.previous))
        #expect(back.lines == (15..<25).map(String.init))
        let earlier = try await events("--limit", "10", "--next-token", try #require(back.previous))
        #expect(earlier.lines == (5..<15).map(String.init))
        let (zero, zr) = try await cli.run("get-cluster-log-events", "-n", name, "--log-stream-name", "slurmctld", "--limit", "0")
        #expect(zr.exitCode == 1 && zero?["message"] == "Bad Request: 'limit' must be a positive integer.")
    }

    @Test(.enabled(if: OracleResponses.python != nil, "the original is not installed: run scripts/oracle/setup"))
    func pagesLoadWithTheOriginalsModels() async throws {
        defer { try? FileManager.default.removeItem(at: cli.stateDir) }
        _ = try makeCluster(streams: 60, lines: 5)
        let cases: [(String, [String])] = [
            ("ListClusterLogStreamsResponseContent", ["list-cluster-log-streams", "-n", name]),
            ("ListClusterLogStreamsResponseContent", ["list-cluster-log-streams", "-n", name, "--next-token", "streams/50"]),
            ("GetClusterLogEventsResponseContent", ["get-cluster-log-events", "-n", name, "--log-stream-name", "slurmctld", "--limit", "2"]),
            ("GetClusterStackEventsResponseContent", ["get-cluster-stack-events", "-n", name]),
        ]
        var documents: [(model: String, json: String)] = []
        for (model, args) in cases {
            let (_, r) = try await cli.run(args)
            #expect(r.exitCode == 0, "\(args): \(r.stdout)")
            documents.append((model, r.stdout))
        }
        for ((model, args), found) in zip(cases, try await OracleResponses.problems(documents)) {
            #expect(found.isEmpty, "\(args.joined(separator: " ")) as \(model):\n\(found.joined(separator: "\n"))")
        }
    }

    @Test func pagesAreSlicesOfTheListing() {
        let items = Array(0..<7)
        guard case .success(let (first, next)) = Pages.page(items, size: 3, kind: "k", token: nil) else { Issue.record(); return }
        #expect(first == [0, 1, 2] && next == "k/3")
        guard case .success(let (last, end)) = Pages.page(items, size: 3, kind: "k", token: "k/6") else { Issue.record(); return }
        #expect(last == [6] && end == nil)
        for bad in ["x/1", "k/-1", "k/", "k", "k/1/2"] {
            guard case .failure = Pages.page(items, size: 3, kind: "k", token: bad) else { Issue.record("\(bad) accepted"); continue }
        }
        guard case .success(let (window, forward, backward)) = Pages.events(items, limit: 3, fromHead: false, token: "b/2") else {
            Issue.record()
            return
        }
        #expect(window == [0, 1] && forward == "f/2" && backward == "b/0")
    }
}
