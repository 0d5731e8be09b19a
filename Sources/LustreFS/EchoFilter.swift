import DataRepository
import Foundation
import Synchronization

/// What this process itself did to the repository lately, so that auto-import does not take its own changes
/// coming back (as events, or in a sweep's listing) for news: the keys it wrote (with their ETags) and deleted,
/// and the keys a write or delete is in flight for. It owns its state; the export worker records into it and
/// the importer asks it.
final class EchoFilter: Sendable {
    private struct State {
        var recentWrites: [String: (etag: String, at: Date)] = [:]
        var recentDeletes: [String: Date] = [:]
        var inFlight: [String: Int] = [:]
    }

    private let state = Mutex(State())

    func remember(wrote key: String, etag: String) {
        state.withLock { state in
            state.recentWrites[key] = (etag, Date())
            state.recentDeletes[key] = nil
            Self.prune(&state)
        }
    }

    func remember(deleted key: String) {
        state.withLock { state in
            state.recentDeletes[key] = Date()
            state.recentWrites[key] = nil
            Self.prune(&state)
        }
    }

    /// Echoes arrive within seconds (events) or by the next sweep; an hour of memory, 100,000 keys at most.
    private static func prune(_ state: inout State) {
        guard state.recentWrites.count + state.recentDeletes.count > 100_000 else { return }
        let cutoff = Date().addingTimeInterval(-3600)
        state.recentWrites = state.recentWrites.filter { $0.value.at > cutoff }
        state.recentDeletes = state.recentDeletes.filter { $0.value > cutoff }
    }

    /// Whether a listed or headed object is nothing new from the repository: the one this process wrote
    /// (same key and ETag), or one a listing still shows although this process wrote or deleted the key after
    /// it was last modified. A sweep lists first and applies later, and an export or a rename's delete can
    /// land in between; taking the listing's object for news would bring back a renamed or removed file, or an
    /// older version of a written one. (A repository write by someone else in the same second as ours, after
    /// it, looks the same and waits for the key's next change.)
    func isOwnEcho(_ object: RepositoryObject) -> Bool {
        state.withLock { state in
            if let write = state.recentWrites[object.key] {
                return write.etag == object.etag || object.lastModifiedNanoseconds <= Self.nanoseconds(write.at)
            }
            if let deleted = state.recentDeletes[object.key] {
                return object.lastModifiedNanoseconds <= Self.nanoseconds(deleted)
            }
            return false
        }
    }

    private static func nanoseconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1_000_000_000) }

    func isOwnDelete(_ key: String) -> Bool {
        state.withLock { $0.recentDeletes[key] != nil }
    }

    /// A write or delete of `key` starts (its event must not be imported while it runs); `end` when it is done.
    func begin(_ key: String) {
        state.withLock { $0.inFlight[key, default: 0] += 1 }
    }

    func end(_ key: String) {
        state.withLock { state in
            let count = (state.inFlight[key] ?? 1) - 1
            state.inFlight[key] = count > 0 ? count : nil
        }
    }

    func isInFlight(_ key: String) -> Bool {
        state.withLock { $0.inFlight[key] != nil }
    }
}
