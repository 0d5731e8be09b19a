import ClusterProviders
import Foundation
import PClusterCLI

#if canImport(Glibc)
import Glibc
#endif

// Output is written whole after the command finishes; a closed pipe (`pcluster ... | head`)
// must not kill us with SIGPIPE.
signal(SIGPIPE, SIG_IGN)
// The terminal's width, where Python's shutil.get_terminal_size finds it: argparse wraps usage to it.
var size = winsize()
let columns = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : nil
let result = await PClusterCLI.run(
    Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
    providers: StandardProviders(originalVersion: PClusterVersion.original), terminalColumns: columns)
FileHandle.standardOutput.write(Data(result.stdout.utf8))
FileHandle.standardError.write(Data(result.stderr.utf8))
if let plan = result.exec {
    // `pcluster ssh`: become the shell or command, with the terminal and signals it expects.
    signal(SIGPIPE, SIG_DFL)
    let argv = ([plan.path] + plan.arguments).map { strdup($0) } + [nil]
    let envp = plan.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    execve(plan.path, argv, envp)
    FileHandle.standardError.write(Data("pcluster: cannot run \(plan.path): \(String(cString: strerror(errno)))\n".utf8))
    exit(127)
}
exit(result.exitCode)
