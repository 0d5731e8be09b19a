import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct ExportClusterLogs: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-cluster-logs", abstract: "Export the logs of the cluster to a local tar.gz archive.")
    static let providerWork = "exporting cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "S3 bucket to export the logs through.") var bucket: String?
    @Option(name: .customLong("bucket-prefix"), help: "Key prefix in the bucket.") var bucketPrefix: String?
    @Option(name: .customLong("output-file"), help: "File path to save the archive to.") var outputFile: String?
    @Option(name: .customLong("keep-s3-objects"), help: "Keep the exported objects in S3 (true|false).") var keepS3Objects: BoolArgument?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @Option(name: .long, parsing: .upToNextOption, help: "Filter the log streams.") var filters: [String] = []
    @OptionGroup var common: CommonOptions
}

extension ExportClusterLogs {
    /// Writes every log stream (and the event log) into a tar.gz archive: `{"path": ...}`, as the original
    /// answers with --output-file.
    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("export-cluster-logs", reason) }
        if bucket != nil {
            return .failure(
                message:
                    "Bad Request: --bucket exports through S3, which needs the AWS provider; a local cluster's logs are written to --output-file (default ./\(clusterName)-logs-TIMESTAMP.tar.gz)."
            )
        }
        let stamp = Providers.iso.string(from: Date()).replacingOccurrences(of: ":", with: "-")
        let output = URL(fileURLWithPath: outputFile ?? "\(clusterName)-logs-\(stamp).tar.gz").standardizedFileURL.path
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-logs-\(UUID().uuidString)")
        let folder = staging.appendingPathComponent("\(clusterName)-logs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        for stream in await provider.logStreams(of: clusterName) {
            let lines = await provider.logLines(of: clusterName, stream: stream.name) ?? []
            try (lines.joined(separator: "\n") + "\n").write(
                to: folder.appendingPathComponent("\(stream.name).log"), atomically: true, encoding: .utf8)
        }
        let events = await provider.events(of: clusterName).map {
            "\(Providers.iso.string(from: $0.timestamp)) \($0.resource) \($0.status) \($0.reason)"
        }
        try (events.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("cluster-events.log"), atomically: true, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", output, "-C", staging.path, "\(clusterName)-logs"]
        let messages = Pipe()
        tar.standardError = messages
        tar.standardOutput = FileHandle.nullDevice
        do { try tar.run() } catch { return .failure(message: "Cannot run /bin/tar: \(error)") }
        let said = messages.fileHandleForReading.readDataToEndOfFile()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            return .failure(
                message: "Cannot write \(output): \(String(decoding: said, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return .ok(["path": .string(output)])
    }
}
