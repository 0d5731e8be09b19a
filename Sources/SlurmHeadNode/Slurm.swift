import Foundation

/// The Debian packages' programs, and the check that they are there.
package enum SlurmTools {
    package static let slurmctld = "/usr/sbin/slurmctld"
    package static let slurmd = "/usr/sbin/slurmd"
    package static let scontrol = "/usr/bin/scontrol"
    package static let sinfo = "/usr/bin/sinfo"
    package static let munged = "/usr/sbin/munged"
    package static let slurmdbd = "/usr/sbin/slurmdbd"
    package static let runuser = "/usr/sbin/runuser"

    /// Names what is missing and how to install it; nil when everything is in place.
    package static func missing() -> String? {
        var absent: [String] = []
        for (path, package) in [(slurmctld, "slurmctld"), (slurmd, "slurmd"), (scontrol, "slurm-client"), (munged, "munge")]
        where !FileManager.default.isExecutableFile(atPath: path) {
            absent.append("\(path) (package \(package))")
        }
        if getpwnam("munge") == nil { absent.append("the 'munge' user (package munge)") }
        guard !absent.isEmpty else { return nil }
        return "The local provider needs Slurm and munge, and this machine lacks \(absent.joined(separator: ", ")). "
            + "Install them with: apt-get install -y slurm-wlm munge"
    }
}

/// Node states as `scontrol show node -o` reports them.
package struct SlurmNodeState: Sendable, Equatable {
    package var name: String
    /// "IDLE", "ALLOCATED", "MIXED", "DOWN", ...
    package var base: String
    /// "CLOUD", "POWERED_DOWN", "POWERING_UP", "POWERING_DOWN", "NOT_RESPONDING", "DRAIN", ...
    package var flags: Set<String>
    package var reason: String?

    package var isPoweredDown: Bool { flags.contains("POWERED_DOWN") }
    /// Powering up, or asked to and not yet started (POWER_UP, until slurmctld's power-save pass runs the
    /// ResumeProgram).
    package var isPoweringUp: Bool { flags.contains("POWERING_UP") || flags.contains("POWER_UP") }
    package var isPoweringDown: Bool { flags.contains("POWERING_DOWN") || flags.contains("POWER_DOWN") }
    /// Up and answering: what a job needs before it can start.
    package var isReady: Bool {
        !isPoweredDown && !isPoweringUp && !isPoweringDown && !flags.contains("NOT_RESPONDING") && base != "DOWN"
    }

    package static func parse(_ output: String) -> [String: SlurmNodeState] {
        var states: [String: SlurmNodeState] = [:]
        for line in output.split(separator: "\n") {
            var fields: [String: String] = [:]
            // "Reason=" runs to the end of the line and may contain spaces.
            var text = String(line)
            if let reason = text.range(of: " Reason=") {
                fields["Reason"] = String(text[reason.upperBound...])
                text = String(text[..<reason.lowerBound])
            }
            for token in text.split(separator: " ") {
                guard let equals = token.firstIndex(of: "=") else { continue }
                fields[String(token[..<equals])] = String(token[token.index(after: equals)...])
            }
            guard let name = fields["NodeName"], let state = fields["State"] else { continue }
            let parts = state.split(separator: "+").map(String.init)
            states[name] = SlurmNodeState(
                name: name, base: parts.first ?? "", flags: Set(parts.dropFirst()),
                reason: fields["Reason"])
        }
        return states
    }
}
