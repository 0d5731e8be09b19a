import Foundation
import SlurmHeadNode
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A MariaDB server of the test's own (Debian's mariadb-server): a fresh data directory, 127.0.0.1 on a free
/// port, a socket in its directory for root's setup. Stopped by its pid; started again on the same data and
/// port to take the database away and bring it back.
struct MariaDB {
    static let server = "/usr/sbin/mariadbd"
    static let installer = "/usr/bin/mariadb-install-db"
    static let client = "/usr/bin/mariadb"

    let directory: String
    let port: Int
    private(set) var pid: pid_t

    var socket: String { directory + "/mysqld.sock" }
    var data: String { directory + "/data" }

    static var missing: String? {
        for path in [server, installer, client] where !FileManager.default.isExecutableFile(atPath: path) {
            return "\(path) is missing: apt-get install mariadb-server (scripts/test installs it)"
        }
        return getpwnam("mysql") == nil ? "the 'mysql' user is missing (package mariadb-server)" : nil
    }

    static func start(in directory: String) throws -> MariaDB {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let install = ProcessControl.run([
            installer, "--no-defaults", "--datadir=\(directory)/data", "--user=mysql", "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ])
        guard install.status == 0 else { throw TestSetupError(description: "mariadb-install-db failed: \(install.output)") }
        let owner = getpwnam("mysql")!.pointee
        chown(directory, owner.pw_uid, owner.pw_gid)
        var server = MariaDB(directory: directory, port: try PortAllocator.allocate(1, avoiding: []).first!, pid: 0)
        try server.launch()
        return server
    }

    private mutating func launch() throws {
        pid = try ProcessControl.spawn(
            [
                Self.server, "--no-defaults", "--datadir=\(data)", "--socket=\(socket)", "--port=\(port)", "--bind-address=127.0.0.1",
                "--user=mysql", "--skip-name-resolve", "--log-error=\(directory)/error.log", "--pid-file=\(directory)/mariadbd.pid",
            ], environment: ["PATH": "/usr/sbin:/usr/bin:/bin"], logPath: directory + "/mariadbd.out")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if PortAllocator.isListening(port) { return }
            guard ProcessControl.isAlive(pid) else { break }
            usleep(100_000)
        }
        throw TestSetupError(description: "mariadbd did not start on 127.0.0.1:\(port); see \(directory)/error.log")
    }

    /// Runs SQL as root over the socket.
    @discardableResult
    func sql(_ statement: String) throws -> String {
        let result = ProcessControl.run([Self.client, "--no-defaults", "--socket=\(socket)", "-uroot", "-N", "-e", statement])
        guard result.status == 0 else { throw TestSetupError(description: "mariadb -e \(statement): \(result.output)") }
        return result.output
    }

    func stop() {
        _ = ProcessControl.terminate(pid, commandContains: "mariadbd", grace: 30)
    }

    /// The same server again, on the same data and port.
    mutating func restart() throws {
        stop()
        try launch()
    }
}
