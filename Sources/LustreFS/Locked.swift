import Foundation
import Synchronization

/// A value shared between threads (FUSE's and the data mover's) behind the standard library's `Mutex`, as a
/// class so closures and tasks can share one.
package final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: sending Value) { mutex = Mutex(value) }

    package func withLock<Result>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result {
        try mutex.withLock { value throws -> sending Result in try body(&value) }
    }
}

/// A signal many tasks can wait for (a restore's range arriving, the export queue draining). Waiters read
/// the generation before checking their condition and wait only if no signal came since, so none is missed.
final class Signal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var continuations: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var current: UInt64 { state.withLock { $0.generation } }

    /// Returns at the next signal after `seen`, or at once when the task is cancelled (a cancel wakes every
    /// waiter; each checks its own condition and cancellation again).
    func wait(after seen: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waits = state.withLock { state -> Bool in
                    guard state.generation == seen, !Task.isCancelled else { return false }
                    state.continuations.append(continuation)
                    return true
                }
                if !waits { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }

    /// Returns at the next signal after `seen`, or at `deadline`, whichever comes first.
    func wait(after seen: UInt64, until deadline: Date) async {
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { return }
        // The timer's signal wakes other waiters too; each checks its own condition again.
        let timer = Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(remaining * 1e9))
            fire()
        }
        await wait(after: seen)
        timer.cancel()
    }

    func fire() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.continuations.removeAll() }
            return state.continuations
        }
        for continuation in waiting { continuation.resume() }
    }
}
