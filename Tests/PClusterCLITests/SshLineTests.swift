import Foundation
import TestSupport
import Testing

@testable import PClusterCLI

/// `pcluster ssh`'s command line: the original's quoting (Python's shlex.quote) and ssh's reading of
/// its own options before the remote command.
@Suite struct SshLineTests {
    @Test func quotingMatchesPythonShlex() async throws {
        let samples = [
            "sinfo", "-N", "'srun hostname'", "srun hostname", "", "a'b", "$HOME", "x;y", "ünïcode", "a=b,c:d/e.f@g%h+i-j_k",
            "\"q\"", "tab\there", "*",
        ]
        let output = try await python(
            "import json, shlex, sys; print(json.dumps([shlex.quote(s) for s in json.load(sys.stdin)]))", input: try JSONEncoder().encode(samples))
        let expected = try JSONDecoder().decode([String].self, from: output)
        #expect(samples.map(SshLine.quote) == expected)
    }

    @Test func theOriginalsDryRunLine() {
        #expect(SshLine.original(user: "ec2-user", host: "1.2.3.4", arguments: []) == "ssh ec2-user@1.2.3.4 ")
        #expect(
            SshLine.original(user: "ec2-user", host: "1.2.3.4", arguments: ["-i", "k.pem", "sbatch", "--wrap", "'srun hostname'"])
                == "ssh ec2-user@1.2.3.4 -i k.pem sbatch --wrap ''\"'\"'srun hostname'\"'\"''")
    }

    @Test func sshOptionsComeBeforeTheRemoteCommand() {
        #expect(SshLine.remoteCommand(["-i", "key", "-o", "StrictHostKeyChecking=no", "sinfo", "-N"]) == ["sinfo", "-N"])
        #expect(SshLine.remoteCommand(["-tt", "-L", "8080:localhost:80", "squeue; sinfo"]) == ["squeue; sinfo"])
        #expect(SshLine.remoteCommand(["-vikey", "hostname"]) == ["hostname"])
        #expect(SshLine.remoteCommand(["-vi", "key", "hostname"]) == ["hostname"])
        #expect(SshLine.remoteCommand(["--", "-x"]) == ["-x"])
        #expect(SshLine.remoteCommand(["-i", "key"]).isEmpty)
        #expect(SshLine.remoteCommand([]).isEmpty)
    }
}
