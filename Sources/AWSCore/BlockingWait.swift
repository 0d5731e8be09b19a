import Foundation

/// Runs async work (our AWS clients) from synchronous code: the CLI's commands and the local provider. The
/// work runs on a dispatch queue of its own (a task executor preference, inherited by its child tasks), never
/// on the cooperative pool: the caller may itself be on a cooperative thread (tests call commands
/// in-process), and blocking every thread of a small pool while the work waits for one would deadlock.
public enum BlockingWait {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: QueueExecutor.shared) {
            do { box.value = .success(try await work()) } catch { box.value = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.value!.get()
    }

    public static func run<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        // The throwing form with a body that cannot throw.
        try! run { () async throws -> T in await work() }
    }

    private final class Box<T: Sendable>: @unchecked Sendable {
        var value: Result<T, any Error>?
    }

    /// Jobs run on a concurrent dispatch queue (GCD's threads, not Swift's cooperative ones).
    final class QueueExecutor: TaskExecutor {
        static let shared = QueueExecutor()
        let queue = DispatchQueue(label: "blocking-wait", attributes: .concurrent)

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            queue.async { job.runSynchronously(on: executor) }
        }
    }
}
