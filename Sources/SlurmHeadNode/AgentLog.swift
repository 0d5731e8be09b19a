import Foundation

/// The node agent's own log: its standard error, which the head node sends to the cluster's agent log
/// (`pcluster get-cluster-log-events`). A step of the manager loop whose failure must not stop the loop
/// (the next pass does it again) says here what failed.
enum AgentLog {
    static func failure(of what: String, _ error: any Error) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        FileHandle.standardError.write(Data("\(stamp) pcluster-agent: \(what) failed: \(error)\n".utf8))
    }

    /// Runs `body`; a failure is logged, not thrown.
    static func attempt(_ what: @autoclosure () -> String, _ body: () throws -> Void) {
        do { try body() } catch { failure(of: what(), error) }
    }

    static func attempt(_ what: @autoclosure () -> String, _ body: () async throws -> Void) async {
        do { try await body() } catch { failure(of: what(), error) }
    }
}
