import Foundation
import PClusterCLI

// Output is written whole after the command finishes; a closed pipe (`pcluster ... | head`)
// must not kill us with SIGPIPE.
signal(SIGPIPE, SIG_IGN)
let result = PClusterCLI.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
FileHandle.standardOutput.write(Data(result.stdout.utf8))
FileHandle.standardError.write(Data(result.stderr.utf8))
exit(result.exitCode)
