import Foundation

/// A value shared between threads (FUSE's and the data mover's) behind a lock. Swift's `Mutex` would do,
/// but it is not available on every platform the package declares.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A signal many tasks can wait for (a restore's range arriving, the export queue draining). Waiters read
/// the generation before checking their condition and wait only if no signal came since, so none is missed.
final class Signal: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var continuations: [CheckedContinuation<Void, Never>] = []

    var current: UInt64 { lock.withLock { generation } }

    /// Returns at the next signal after `seen`, or at once when the task is cancelled (a cancel wakes every
    /// waiter; each checks its own condition and cancellation again).
    func wait(after seen: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.lock()
                if generation != seen || Task.isCancelled {
                    lock.unlock()
                    continuation.resume()
                    return
                }
                continuations.append(continuation)
                lock.unlock()
            }
        } onCancel: {
            fire()
        }
    }

    func fire() {
        lock.lock()
        generation &+= 1
        let waiting = continuations
        continuations.removeAll()
        lock.unlock()
        for continuation in waiting { continuation.resume() }
    }
}
