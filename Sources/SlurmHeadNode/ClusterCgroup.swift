import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One cgroup (v2) per local cluster that every process of the cluster starts in: munged, slurmctld, the agent,
/// and through them slurmd, slurmstepd and the jobs (Slurm's proctrack/linuxproc leaves them where they were
/// born). A process the cluster's pid files do not know, such as a job's slurmstepd after its slurmd was
/// killed, is still found here, so `delete-cluster` can end all of them. Nil where no cgroup2 hierarchy is
/// mounted or it is not writable (then delete falls back to the recorded pids).
package struct ClusterCgroup: Sendable, Equatable {
    package let path: String

    package var procsFile: String { path + "/cgroup.procs" }

    /// The cgroup of the cluster whose files are in `clusterDirectory`: named after the directory (hashed), so
    /// two stores' clusters of the same name never share one.
    package init?(clusterDirectory: String, hierarchy: String? = ClusterCgroup.hierarchy) {
        guard let hierarchy, access(hierarchy, W_OK) == 0 else { return nil }
        var hash: UInt64 = 14695981039346656037
        for byte in clusterDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        let name = (clusterDirectory as NSString).lastPathComponent.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        path = "\(hierarchy)/pcluster-swift/\(name.prefix(40))-\(String(hash, radix: 16))"
    }

    /// Where the cgroup2 file system is mounted (/sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified
    /// on a hybrid one), read from /proc/self/mounts.
    package static let hierarchy: String? = {
        // Through FileHandle: Foundation's String(contentsOfFile:) stops at 4 KiB of a /proc file, whose size is 0.
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/mounts")?.readToEnd() else { return nil }
        let mounts = String(decoding: data, as: UTF8.self)
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 3, fields[2] == "cgroup2" { return String(fields[1]) }
        }
        return nil
    }()

    /// Makes the cgroup (and its parent) if needed.
    package func create() throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw LocalClusterError("cannot create the cluster's cgroup \(path): \(error.localizedDescription)")
        }
    }

    /// The pids in the cgroup now.
    package func members() -> [pid_t] {
        guard let text = try? String(contentsOfFile: procsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// SIGKILL to every process in the cgroup (cgroup.kill, which also catches processes forking meanwhile;
    /// one kill per pid on kernels before 5.14), then waits up to `timeout` seconds for it to empty and removes
    /// it. Returns the pids still there.
    @discardableResult
    package func killAll(timeout: TimeInterval = 20) -> [pid_t] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let deadline = Date().addingTimeInterval(timeout)
        var remaining = members()
        // Never the caller itself (a command run from inside the cluster, such as the agent).
        guard !remaining.contains(getpid()) else { return remaining }
        while !remaining.isEmpty {
            if !Self.write("1", to: path + "/cgroup.kill") {
                for pid in remaining { kill(pid, SIGKILL) }
            }
            for pid in remaining { var status: Int32 = 0; _ = waitpid(pid, &status, WNOHANG) }
            guard Date() < deadline else { return remaining }
            usleep(20_000)
            remaining = members()
        }
        rmdir(path)
        return []
    }

    /// The argument vector that starts `arguments` inside this cgroup: a shell writes its own pid into
    /// cgroup.procs and then becomes the program, so no child of it can be born outside the cgroup.
    func wrapping(_ arguments: [String]) -> [String] {
        ["/bin/sh", "-c", "echo $$ > \"$0\" || exit 126; exec \"$@\"", procsFile] + arguments
    }

    static func write(_ text: String, to file: String) -> Bool {
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }
}
