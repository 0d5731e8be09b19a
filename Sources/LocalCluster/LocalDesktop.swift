import ClusterConfig
import Foundation
import SlurmHeadNode

#if canImport(Glibc)
import Glibc
#endif

/// `dcv-connect` on a local cluster: DCV itself is not available, so the head node's desktop is a virtual X
/// display (Xvfb) with a terminal, served by x11vnc on a loopback port and to the browser by noVNC through
/// websockify on 127.0.0.1 at `HeadNode.Dcv.Port` (all Debian's packages). Each `dcv-connect` issues a new
/// token that our websockify token plugin maps to the VNC server once, within 30 s, as the original's one-time
/// URL is. Every process is born in the cluster's cgroup, so delete-cluster ends them with the rest.
package struct LocalDesktop: Sendable {
    package let layout: LocalLayout
    package let port: Int

    package init(layout: LocalLayout, port: Int) {
        self.layout = layout
        self.port = port
    }

    var directory: String { layout.root.appendingPathComponent("desktop").path }
    var tokens: String { directory + "/tokens" }
    /// The VNC server listens on this socket only (no TCP port), in a directory only root can enter: the desktop
    /// is a root shell, and the token is what opens it. Under /run beside the spool, for the 107-byte limit.
    var socketDirectory: String { layout.spool + "-desktop" }
    var socket: String { socketDirectory + "/vnc.sock" }

    /// websockify's token plugin (ours, in Python, which websockify loads from PYTHONPATH): a token is a file
    /// in the token directory, good once and for 30 s, as DCV's session token is; the file holds the socket.
    static let tokenPlugin = """
        import os
        import re
        import time


        class OneTimeToken:
            def __init__(self, source):
                self.source = source

            def lookup(self, token):
                if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
                    return None
                path = os.path.join(self.source, token)
                try:
                    age = time.time() - os.path.getmtime(path)
                    with open(path) as f:
                        target = f.read().strip()
                    os.unlink(path)
                except OSError:
                    return None
                return ["unix_socket", target] if age <= 30 else None

        """
    static let programs = ["/usr/bin/Xvfb", "/usr/bin/x11vnc", "/usr/bin/websockify", "/usr/bin/xterm"]
    static let web = "/usr/share/novnc"

    /// What is missing on this machine for a desktop, or nil.
    package static func missing() -> String? {
        let absent =
            programs.filter { !FileManager.default.isExecutableFile(atPath: $0) }
            + (FileManager.default.fileExists(atPath: web + "/vnc.html") ? [] : [web])
        return absent.isEmpty ? nil : "the local desktop needs \(absent.joined(separator: ", ")) (Debian's xvfb, x11vnc, websockify, novnc, xterm)"
    }

    /// Whether 127.0.0.1 is inside AllowedIps (a CIDR): the listener is on loopback, so that is all a local
    /// cluster can honour.
    package static func allowsLoopback(_ cidr: String) -> Bool {
        let parts = cidr.split(separator: "/")
        guard let base = parts.first, let bits = parts.count == 2 ? Int(parts[1]) : 32, (0...32).contains(bits) else { return false }
        func value(_ text: Substring) -> UInt32? {
            let octets = text.split(separator: ".").compactMap { UInt32($0) }
            guard octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { return nil }
            return octets.reduce(0) { $0 << 8 | $1 }
        }
        guard let network = value(base) else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        return (network & mask) == (0x7F00_0001 & mask)
    }

    func pid(_ name: String) -> pid_t? {
        guard let pid = ProcessControl.readPid(directory + "/\(name).pid"), ProcessControl.isAlive(pid, commandContains: name) else { return nil }
        return pid
    }

    /// Starts what is not running (display, terminal, VNC server, websockify).
    func ensureRunning() throws {
        for path in [tokens, socketDirectory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(path, 0o700)
        }
        let display = try displayNumber()
        // The terminal is a shell on the head node: the cluster's Slurm environment, as `pcluster ssh` gives.
        let env = layout.slurmEnvironment.merging([
            "DISPLAY": ":\(display)", "HOME": directory, "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        ]) { $1 }
        func start(_ name: String, _ arguments: [String]) throws {
            guard pid(name) == nil else { return }
            let spawned = try ProcessControl.spawn(arguments, environment: env, logPath: directory + "/\(name).log", cgroup: layout.cgroup)
            try "\(spawned)\n".write(toFile: directory + "/\(name).pid", atomically: true, encoding: .utf8)
        }
        try start("Xvfb", ["/usr/bin/Xvfb", ":\(display)", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        try waitFor("the X display :\(display)") { FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(display)") }
        try start("xterm", ["/usr/bin/xterm", "-geometry", "120x40+10+10", "-T", "head node"])
        try start(
            "x11vnc",
            [
                "/usr/bin/x11vnc", "-display", ":\(display)", "-rfbport", "0", "-rfbportv6", "-1", "-noipv6", "-unixsock", socket, "-forever",
                "-shared", "-nopw", "-quiet",
            ])
        try waitFor("the VNC server on \(socket)") { FileManager.default.fileExists(atPath: socket) }
        try Self.tokenPlugin.write(toFile: directory + "/pcluster_desktop_token.py", atomically: true, encoding: .utf8)
        try start(
            "websockify",
            [
                "/usr/bin/env", "PYTHONPATH=\(directory)", "/usr/bin/websockify", "--web", Self.web, "--token-plugin",
                "pcluster_desktop_token.OneTimeToken", "--token-source", tokens, "127.0.0.1:\(port)",
            ])
        try waitFor("websockify on 127.0.0.1:\(port)") { PortAllocator.isListening(port) }
    }

    /// A new token for the VNC server, and the URL that uses it; tokens older than 30 s are removed first.
    package func session() throws -> String {
        if let running = pid("websockify"), !ProcessControl.isAlive(running, commandContains: "127.0.0.1:\(port)") {
            throw LocalClusterError(
                "the desktop's websockify listens on another port than HeadNode.Dcv.Port \(port); delete and create the cluster again")
        }
        try ensureRunning()
        let now = Date()
        for file in (try? FileManager.default.contentsOfDirectory(atPath: tokens)) ?? [] {
            let path = tokens + "/" + file
            let made = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
            if now.timeIntervalSince(made) > 30 { try? FileManager.default.removeItem(atPath: path) }
        }
        let token = (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
        try "\(socket)\n".write(toFile: tokens + "/\(token)", atomically: true, encoding: .utf8)
        return "http://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=remote&path=websockify%3Ftoken%3D\(token)"
    }

    /// The display this cluster's Xvfb uses (kept in the directory), else the first free one from :100.
    func displayNumber() throws -> Int {
        let file = directory + "/display"
        if let kept = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            return kept
        }
        guard
            let free = (100..<300).first(where: {
                !FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\($0)") && !FileManager.default.fileExists(atPath: "/tmp/.X\($0)-lock")
            })
        else { throw LocalClusterError("no free X display between :100 and :299") }
        try "\(free)\n".write(toFile: file, atomically: true, encoding: .utf8)
        return free
    }

    func waitFor(_ what: String, _ check: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(15)
        while !check() {
            guard Date() < deadline else { throw LocalClusterError("\(what) did not come up; see \(directory)") }
            usleep(50_000)
        }
    }
}
