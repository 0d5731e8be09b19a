import Synchronization

/// One holder at a time per repository key, for the export worker: a write of a key (and the commit that
/// records it as the file's archived copy) and a delete of the same key never interleave. Without it, a delete
/// queued by an unlink and postponed by a failure could run after a new file at the same name was exported,
/// and remove that file's only copy.
final class KeyLocks: Sendable {
    /// Held keys, each with the tasks waiting for it in arrival order.
    private let held = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    /// Waits until `key` is free and takes it; `unlock` hands it to the next waiter.
    func lock(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let free = held.withLock { held -> Bool in
                guard held[key] != nil else {
                    held[key] = []
                    return true
                }
                held[key]!.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }

    func unlock(_ key: String) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var waiting = held[key], !waiting.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = waiting.removeFirst()
            held[key] = waiting
            return first
        }
        next?.resume()
    }
}
