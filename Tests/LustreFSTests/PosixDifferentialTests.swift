import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The mount against a local file system: the same random operations, as root and as an unprivileged user,
/// on a tmpfs directory (the reference), on the mount inside a data repository association, and on the mount
/// outside one; every call's errno and result, and the type, mode, owner, link count, size, extended
/// attributes and timestamp changes of what it touched must agree. A failure names its seed and a shrunk
/// sequence. `POSIX_DIFF_SEED` replays one seed; `POSIX_DIFF_SEEDS` (3) and `POSIX_DIFF_OPS` (20,000 per
/// seed) size the run.
@Suite(.serialized, .enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 && access("/usr/bin/fusermount3", X_OK) == 0))
struct PosixDifferentialTests {
    @Test(.timeLimit(.minutes(20))) func theMountAnswersAsALocalFileSystem() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seeds: [UInt64] =
            environment["POSIX_DIFF_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? Array(1...UInt64(environment["POSIX_DIFF_SEEDS"].flatMap(Int.init) ?? 3))
        let count = environment["POSIX_DIFF_OPS"].flatMap(Int.init) ?? 20000

        let scratch = Scratch()
        let mountpoint = scratch.sub("mnt")
        let repo = scratch.sub("repo")
        let fsDirectory = scratch.path + "/fs"
        let admin = MountTests.admin
        let created = try runCommand([
            admin, "create-association", "--fs-dir", fsDirectory, "--file-system-path", "/dra",
            "--data-repository-path", "file://\(repo)", "--auto-export", "NEW,CHANGED,DELETED",
        ])
        try #require(created.status == 0, "\(created.stderr)")
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: admin)
        daemon.arguments = ["mount", "--fs-dir", fsDirectory, mountpoint]
        daemon.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        daemon.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try daemon.run()
        defer {
            kill(daemon.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(20)
            while daemon.isRunning && Date() < deadline { usleep(50_000) }
            if daemon.isRunning {
                kill(daemon.processIdentifier, SIGKILL)
                umount2(mountpoint, Int32(MNT_DETACH))
            }
        }
        #expect(try await eventually(20) { FileManager.default.fileExists(atPath: mountpoint + "/dra") })

        var template = Array("/dev/shm/posix-reference-XXXXXX".utf8CString)
        let referenceRoot = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { try? FileManager.default.removeItem(atPath: referenceRoot) }
        try FileManager.default.createDirectory(atPath: mountpoint + "/plain", withIntermediateDirectories: true)
        let inside = mountpoint + "/dra/tree"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        let differential = PosixDifferential(trees: [
            PosixTree(root: referenceRoot), PosixTree(root: inside), PosixTree(root: mountpoint + "/plain"),
        ])
        // The unprivileged user reaches every tree and may make things at its top, under the sticky bit's rules.
        chmod(scratch.path, 0o755)
        for tree in differential.trees { chmod(tree.root, 0o1777) }

        let previousMask = umask(0o022)
        defer { umask(previousMask) }
        for seed in seeds {
            // Thousands of blocking system calls: on a thread of their own, not one of the few the other
            // suites' tasks share.
            let report = try await Self.onOwnThread { () throws -> String? in
                for tree in differential.trees { try tree.clear() }
                var generator = SplitMix64(seed: seed)
                let operations = (0..<count).map { _ in PosixStep.random(&generator) }
                guard let mismatch = differential.run(operations) else { return nil }
                let shrunk = try differential.shrink(Array(operations.prefix(mismatch.step + 1)))
                for tree in differential.trees { try tree.clear() }
                let replayed = differential.run(shrunk)
                return """
                    seed \(seed): \(mismatch)
                    shrunk to \(shrunk.count) steps: \(shrunk.map(\.description).joined(separator: "; "))
                    which fails at \(replayed.map(\.description) ?? "nothing (the failure depends on timing)")
                    """
            }
            if let report { Issue.record(Comment(rawValue: report)) }
        }
    }

    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
