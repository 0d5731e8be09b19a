import Foundation

/// Runs blocking work (a process, a long computation) on a thread of its own, so the test does not hold
/// one of the cooperative pool's few threads (two on a two-core machine) that every other test needs.
package func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Process {
    /// `waitUntilExit` on a thread of its own (see `onOwnThread`): a test waiting for a process must not hold
    /// a cooperative thread that the rest of the suite, running alongside, needs.
    package func exited() async {
        nonisolated(unsafe) let process = self
        _ = try? await onOwnThread { process.waitUntilExit() }
    }
}
