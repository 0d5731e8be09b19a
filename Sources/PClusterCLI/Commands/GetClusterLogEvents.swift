import ArgumentParser
import ClusterConfig
import Foundation
import JSONOutput
import Provisioning

struct GetClusterLogEvents: ExistingClusterCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-cluster-log-events", abstract: "Retrieve the events associated with a log stream.")
    static let providerWork = "reading cluster logs"
    @Option(name: [.customShort("n"), .customLong("cluster-name")], help: "Name of the cluster.") var clusterName: String
    @Option(name: .customLong("log-stream-name"), help: "Name of the log stream.") var logStreamName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("start-from-head"), help: "Return the oldest events first (true|false).") var startFromHead: BoolArgument?
    @Option(name: .long, help: "Maximum number of log events returned.") var limit: Int?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @OptionGroup var common: CommonOptions
}

extension GetClusterLogEvents {
    func refusal() -> CommandOutcome? {
        for (name, value) in [("start_time", startTime), ("end_time", endTime)] {
            if let value, LogTime.parse(value) == nil {
                return .failure(
                    message:
                        "Bad Request: \(name) filter must be in the ISO 8601 format: YYYY-MM-DDThh:mm:ssZ. (e.g. 1984-09-15T19:20:30Z or 1984-09-15)."
                )
            }
        }
        if let limit, limit <= 0 { return .failure(message: "Bad Request: 'limit' must be a positive integer.") }
        return nil
    }

    func perform(record: ClusterRecord, provider: any ClusterProvider, env: CommandEnvironment) async throws -> CommandOutcome {
        if let reason = provider.logsUnavailable() { return Responses.unavailable("get-cluster-log-events", reason) }
        guard let lines = await provider.logLines(of: clusterName, stream: logStreamName) else {
            return .failure(
                message: "Log stream '\(logStreamName)' does not exist; `pcluster list-cluster-log-streams -n \(clusterName)` lists them.",
                status: 404)
        }
        // Each line at the time it starts with; a line without one (a continuation) shares its predecessor's.
        let stream = await provider.logStreams(of: clusterName).first { $0.name == logStreamName }
        var time = stream?.creationTime ?? Date()
        var events: [(time: Date, message: String)] = []
        for line in lines {
            if let stamped = LogTime.leading(line) { time = stamped }
            events.append((time, line))
        }
        let start = startTime.flatMap(LogTime.parse), end = endTime.flatMap(LogTime.parse)
        events = events.filter { event in
            (start.map { event.time >= $0 } ?? true) && (end.map { event.time < $0 } ?? true)
        }
        switch Pages.events(events, limit: limit ?? Pages.logEvents, fromHead: startFromHead?.value ?? false, token: nextToken) {
        case .failure(let refusal): return refusal.outcome
        case .success(let (page, next, previous)):
            return .ok([
                "nextToken": .string(next), "prevToken": .string(previous),
                "events": .array(page.map { ["timestamp": .string(Providers.iso.string(from: $0.time)), "message": .string($0.message)] }),
            ])
        }
    }
}

/// Times in log requests and log lines.
enum LogTime {
    /// The original's accepted forms: a date, or a date and time (ISO 8601, with or without zone; UTC if none).
    static func parse(_ text: String) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for format in ["yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = format
            if let date = f.date(from: t) { return date }
        }
        return nil
    }

    /// The time a log line starts with: Slurm's `[2026-11-28T00:25:13.123]`, or an ISO 8601 stamp
    /// (`2026-11-28T00:25:13+0000`, `2026-11-28 00:25:13`), read as UTC when it carries no zone.
    static func leading(_ line: String) -> Date? {
        var text = Substring(line)
        if text.first == "[" { text = text.dropFirst() }
        guard text.count >= 19 else { return nil }
        let head = text.prefix(19)
        guard head.dropFirst(4).first == "-", head.dropFirst(10).first == "T" || head.dropFirst(10).first == " " else { return nil }
        var stamp = String(head).replacingOccurrences(of: " ", with: "T")
        let rest = text.dropFirst(19)
        var fraction = ""
        if rest.first == "." { fraction = String(rest.dropFirst().prefix { $0.isNumber }) }
        let afterFraction = rest.dropFirst(fraction.isEmpty ? 0 : fraction.count + 1)
        var zone = "Z"
        if let sign = afterFraction.first, sign == "+" || sign == "-" {
            let digits = afterFraction.dropFirst().prefix { $0.isNumber || $0 == ":" }.filter(\.isNumber)
            if digits.count == 4 { zone = "\(sign)\(digits.prefix(2)):\(digits.suffix(2))" }
        }
        stamp += zone
        guard var date = parse(stamp) else { return nil }
        if let f = Double("0." + fraction), !fraction.isEmpty { date += f }
        return date
    }
}
