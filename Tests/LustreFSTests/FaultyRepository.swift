import AWSCore
import DataRepository
import Foundation
import LustreFS
import TestSupport

/// A data repository that fails on purpose, as mountpoint-s3's failure-injecting client does: each call to
/// the wrapped repository may instead fail with an error, be throttled (S3's SlowDown), be slowed down, or,
/// for a read, hand on part of its range and then break off. The decisions come from a seeded generator, so
/// a failing run replays with its seed.
final class FaultyRepository: DataRepository, Sendable {
    enum Operation: String, CaseIterable, Sendable {
        case list, head, read, write, replaceMetadata, copy, delete
    }

    /// What to inject; every rate is a probability per call.
    struct Plan: Sendable {
        var errorRate = 0.0
        var throttleRate = 0.0
        /// Reads only: the stream stops after part of the range.
        var cutRate = 0.0
        /// Added before every call that is not failed.
        var delayNanoseconds: UInt64 = 0
        var operations: Set<Operation> = Set(Operation.allCases)

        static let none = Plan()
    }

    enum Fault: Sendable { case error, throttle, cut }

    let base: any DataRepository
    private let state: Locked<(plan: Plan, generator: SplitMix64, injected: [Operation: Int])>

    init(_ base: any DataRepository, seed: UInt64, plan: Plan = .none) {
        self.base = base
        state = Locked((plan, SplitMix64(seed: seed), [:]))
    }

    func setPlan(_ plan: Plan) { state.withLock { $0.plan = plan } }

    /// Faults injected so far, by operation.
    var injected: [Operation: Int] { state.withLock { $0.injected } }

    private func decide(_ operation: Operation) -> (fault: Fault?, delay: UInt64) {
        state.withLock { state in
            let plan = state.plan
            guard plan.operations.contains(operation) else { return (nil, 0) }
            let roll = Double(state.generator.next() % 1_000_000) / 1_000_000
            let fault: Fault?
            if roll < plan.errorRate {
                fault = .error
            } else if roll < plan.errorRate + plan.throttleRate {
                fault = .throttle
            } else if operation == .read && roll < plan.errorRate + plan.throttleRate + plan.cutRate {
                fault = .cut
            } else {
                fault = nil
            }
            if fault != nil { state.injected[operation, default: 0] += 1 }
            return (fault, plan.delayNanoseconds)
        }
    }

    /// Fails the call when the plan says so (a cut read is handled by `read`).
    private func enter(_ operation: Operation) async throws -> Fault? {
        let (fault, delay) = decide(operation)
        if delay > 0 { try await Task.sleep(nanoseconds: delay) }
        switch fault {
        case .error: throw RepositoryError(.io, "injected failure of \(operation.rawValue)")
        case .throttle:
            throw AWSServiceError(
                service: "S3", operation: operation.rawValue, code: "SlowDown",
                message: "injected: please reduce your request rate", statusCode: 503)
        case .cut, nil: return fault
        }
    }

    var displayName: String { base.displayName }

    func list(prefix: String) -> AsyncThrowingStream<[RepositoryObject], any Error> {
        let (fault, _) = decide(.list)
        guard fault != nil else { return base.list(prefix: prefix) }
        return AsyncThrowingStream { $0.finish(throwing: RepositoryError(.io, "injected failure of list")) }
    }

    func head(key: String) async throws -> RepositoryObjectHead? {
        _ = try await enter(.head)
        return try await base.head(key: key)
    }

    func read(
        key: String, range: Range<Int64>, etag: String?,
        sink: @escaping @Sendable (Int64, UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        guard try await enter(.read) == .cut, range.count > 1 else {
            return try await base.read(key: key, range: range, etag: etag, sink: sink)
        }
        let half = range.lowerBound + Int64(range.count / 2)
        try await base.read(key: key, range: range.lowerBound..<half, etag: etag, sink: sink)
        throw RepositoryError(.io, "injected: the connection broke after \(half - range.lowerBound) of \(range.count) bytes")
    }

    func write(key: String, contentsOf path: String, userMetadata: [String: String]) async throws -> String {
        _ = try await enter(.write)
        return try await base.write(key: key, contentsOf: path, userMetadata: userMetadata)
    }

    func write(key: String, data: Data, userMetadata: [String: String]) async throws -> String {
        _ = try await enter(.write)
        return try await base.write(key: key, data: data, userMetadata: userMetadata)
    }

    func replaceMetadata(key: String, userMetadata: [String: String]) async throws -> String {
        _ = try await enter(.replaceMetadata)
        return try await base.replaceMetadata(key: key, userMetadata: userMetadata)
    }

    func copy(from source: String, to destination: String, userMetadata: [String: String]) async throws -> String {
        _ = try await enter(.copy)
        return try await base.copy(from: source, to: destination, userMetadata: userMetadata)
    }

    func delete(key: String) async throws {
        _ = try await enter(.delete)
        try await base.delete(key: key)
    }

    func checkAccess() async throws { try await base.checkAccess() }

    func startEventFeed(name: String, prefix: String) async throws -> (any RepositoryEventFeed)? {
        try await base.startEventFeed(name: name, prefix: prefix)
    }

    func stopEventFeed(name: String) async throws { try await base.stopEventFeed(name: name) }

    func eventFeedConfigured(name: String) async throws -> Bool { try await base.eventFeedConfigured(name: name) }

    func abortIncompleteWrites(prefix: String) async throws { try await base.abortIncompleteWrites(prefix: prefix) }
}
