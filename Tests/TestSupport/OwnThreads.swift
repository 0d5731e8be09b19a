import Foundation
import Testing

/// A suite trait: each test of the suite runs on two threads of its own instead of the cooperative pool.
/// The whole suite runs in one process, and the pool has as many threads as the machine has cores (two
/// here). A test that waits synchronously (a cluster's `pcluster create-cluster --wait`, Slurm's commands,
/// polling with usleep) held one of them for minutes; stack samples of CI runs showed both pool threads held
/// by such waits while the file system tests' background exports waited for a thread and timed out.
///
/// Tasks the test creates with `Task {}` still run on the shared pool; its own code and its child tasks run
/// here, so its waits hold only its own threads.
package struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    package var isRecursive: Bool { true }

    package func scopeProvider(for test: Test, testCase: Test.Case?) -> OwnThreads? {
        // Once per test case; a suite itself needs no threads.
        testCase == nil ? nil : self
    }

    package func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let executor = ThreadPoolTaskExecutor(threads: 2, name: test.name)
        defer { executor.finish() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// See `OwnThreads`.
    package static var ownThreads: OwnThreads { OwnThreads() }
}

/// A task executor with a fixed number of threads of its own, each taking jobs from one queue. Written here
/// because Foundation and the standard library have none: the global executor is the shared pool.
package final class ThreadPoolTaskExecutor: TaskExecutor, @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var finishing = false
    private var running = 0

    package init(threads: Int, name: String) {
        running = threads
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "\(name.prefix(40)) #\(index)"
            thread.start()
        }
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if running == 0 {
            // Finished and its threads gone: a late job still runs, on a thread of its own.
            condition.unlock()
            Thread { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }.start()
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// The threads end once the queue is empty.
    package func finish() {
        condition.lock()
        finishing = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count && !finishing { condition.wait() }
            if head == jobs.count {
                running -= 1
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
