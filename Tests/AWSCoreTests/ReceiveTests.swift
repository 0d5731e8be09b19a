import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import AWSCore

#if canImport(Glibc)
import Glibc
#endif

/// `AWSClient.receive`, the body handed over piece by piece on the connection's thread: what is retried
/// (everything before the head reaches the caller), what is not (anything after), and how it ends.
@Suite struct ReceiveTests {
    /// What a receive handed to its caller.
    final class Received: Sendable {
        let heads = NIOLockedValueBox(0)
        let body = NIOLockedValueBox(Data())
    }

    static func receive(
        _ client: AWSClient, path: String = "/", into received: Received, stopAfter: Int? = nil,
        failWith failure: (any Error & Sendable)? = nil
    ) async throws -> HTTPHeaders {
        try await client.receive(
            AWSRequest(operation: "GetObject", method: .GET, path: path),
            head: { _ in received.heads.withLockedValue { $0 += 1 } },
            chunk: { chunk in
                if let failure { throw failure }
                let total = received.body.withLockedValue { body -> Int in
                    body.append(contentsOf: chunk.readableBytesView)
                    return body.count
                }
                return stopAfter.map { total < $0 } ?? true
            })
    }

    static let large = String((0..<300_000).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })

    @Test func anErrorAnswerIsRetriedAndNeverReachesTheCaller() async throws {
        let server = try await RetryTests.flaky(1, RetryTests.slowDown)
        defer { Task { await server.stop() } }
        let received = Received()
        let headers = try await Self.receive(try RetryTests.client(server.endpoint), into: received)
        #expect(headers.first(name: "Content-Length") == "5")
        #expect(server.requests.count == 2)
        #expect(received.heads.withLockedValue { $0 } == 1)
        #expect(received.body.withLockedValue { $0 } == Data("<Ok/>".utf8))

        let failing = try await ScriptedHTTPServer { _ in RetryTests.internalError }
        defer { Task { await failing.stop() } }
        let refused = Received()
        await #expect {
            _ = try await Self.receive(try RetryTests.client(failing.endpoint, attempts: 2), into: refused)
        } throws: { error in
            (error as? AWSServiceError)?.code == "InternalError" && (error as? AWSServiceError)?.requestId == "R1"
        }
        #expect(failing.requests.count == 2)
        #expect(refused.heads.withLockedValue { $0 } == 0)
        #expect(refused.body.withLockedValue { $0 }.isEmpty)
    }

    /// A body that breaks off after the head is the caller's to resume (it knows where it stopped): not
    /// retried from the start, which would hand it the first bytes again.
    @Test func aBodyThatBreaksOffIsNotRetried() async throws {
        let server = try await ScriptedHTTPServer { _ in .init(status: 200, body: Self.large, truncateBodyAt: 100_000) }
        defer { Task { await server.stop() } }
        let received = Received()
        await #expect {
            _ = try await Self.receive(try RetryTests.client(server.endpoint), into: received)
        } throws: { error in
            (error as? AWSTransportError)?.reason == .connectionLost
        }
        #expect(server.requests.count == 1)
        #expect(received.heads.withLockedValue { $0 } == 1)
        let body = received.body.withLockedValue { $0 }
        #expect(body.count <= 100_000 && body == Data(Self.large.utf8.prefix(body.count)))
    }

    @Test func theCallerStopsEarlyOrFailsWithItsOwnError() async throws {
        let server = try await ScriptedHTTPServer { _ in .init(status: 200, body: Self.large) }
        defer { Task { await server.stop() } }
        let client = try RetryTests.client(server.endpoint)
        let stopped = Received()
        let headers = try await Self.receive(client, into: stopped, stopAfter: 1)
        #expect(headers.first(name: "Content-Length") == "300000")
        let part = stopped.body.withLockedValue { $0 }
        #expect(!part.isEmpty && part.count < 300_000 && part == Data(Self.large.utf8.prefix(part.count)))

        struct DiskFull: Error {}
        let failed = Received()
        await #expect(throws: DiskFull.self) {
            _ = try await Self.receive(client, into: failed, failWith: DiskFull())
        }
        #expect(server.requests.count == 2)
    }

    /// The time limit is for the head; a hang instead of the timeout would end at the suite's time limit.
    @Test(.timeLimit(.minutes(1))) func aSilentServerTimesOut() async throws {
        let (fd, port) = RetryTests.silentListener()
        defer { close(fd) }
        let received = Received()
        await #expect {
            _ = try await Self.receive(try RetryTests.client("http://127.0.0.1:\(port)", attempts: 2, timeout: 0.5), into: received)
        } throws: { error in
            (error as? AWSTransportError)?.reason == .timedOut && "\(error)".contains("No answer from")
        }
        #expect(received.heads.withLockedValue { $0 } == 0)
    }
}
