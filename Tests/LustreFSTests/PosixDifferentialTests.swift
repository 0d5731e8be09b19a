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
        let created = try await runCommand([
            admin, "create-association", "--fs-dir", fsDirectory, "--file-system-path", "/dra",
            "--data-repository-path", "file://\(repo)", "--auto-export", "NEW,CHANGED,DELETED",
        ])
        try #require(created.status == 0, "\(created.stderr)")
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: admin)
        daemon.arguments = ["mount", "--fs-dir", fsDirectory, mountpoint]
        daemon.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        // POSIX_DIFF_MOUNT_LOG names a file for the mount's log (to see what the file system did around a mismatch).
        let log = environment["POSIX_DIFF_MOUNT_LOG"].flatMap { path in
            FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forWritingAtPath: path) : nil
        }
        daemon.standardError = log ?? FileHandle(forWritingAtPath: "/dev/null")
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
        // The unprivileged user reaches every tree and may make things at its top, under the sticky bit's rules.
        chmod(scratch.path, 0o755)
        chmod(referenceRoot, 0o755)
        // Each seed has trees of its own, so the seeds run at once (the mount serves them together).
        let differentials = try seeds.map { seed in
            let roots = ["\(referenceRoot)/seed-\(seed)", "\(mountpoint)/dra/tree-\(seed)", "\(mountpoint)/plain/seed-\(seed)"]
            for root in roots {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                chmod(root, 0o1777)
            }
            return (seed, PosixDifferential(trees: roots.map(PosixTree.init(root:))))
        }

        let previousMask = umask(0o022)
        defer { umask(previousMask) }
        let reports = try await withThrowingTaskGroup(of: String?.self) { group in
            for (seed, differential) in differentials {
                // Thousands of blocking system calls: on a thread of their own, not one of the few the other
                // suites' tasks share.
                group.addTask {
                    try await onOwnThread { () throws -> String? in
                        let started = Date()
                        var generator = SplitMix64(seed: seed)
                        let operations = (0..<count).map { _ in PosixStep.random(&generator) }
                        guard let mismatch = differential.run(operations) else {
                            print("POSIX differential: seed \(seed), \(count) steps on 3 trees agree (\(Int(-started.timeIntervalSinceNow)) s)")
                            return nil
                        }
                        let shrunk = try differential.shrink(Array(operations.prefix(mismatch.step + 1)))
                        for tree in differential.trees { try tree.clear() }
                        let replayed = differential.run(shrunk)
                        let shown =
                            shrunk.count > 40
                            ? "the last 40: " + shrunk.suffix(40).map(\.description).joined(separator: "; ")
                            : shrunk.map(\.description).joined(separator: "; ")
                        return """
                            seed \(seed): \(mismatch)
                            shrunk to \(shrunk.count) steps, \(shown)
                            which fails at \(replayed.map(\.description) ?? "nothing (the failure depends on timing)")
                            """
                    }
                }
            }
            return try await group.reduce(into: [String]()) { reports, report in if let report { reports.append(report) } }
        }
        for report in reports { Issue.record(Comment(rawValue: report)) }
    }
}
