import Foundation

/// Pages of the local provider's listings, in the shape of the services behind the original's: CloudWatch
/// Logs for log streams and events, CloudFormation for stack events. A token is where the next page starts in
/// the listing, with a prefix that tells one listing's tokens from another's, so a token from the wrong
/// command (or a typo) is refused instead of read as the start.
enum Pages {
    /// DescribeLogStreams' default page.
    static let logStreams = 50
    /// GetLogEvents' most events per call when no --limit is given.
    static let logEvents = 10_000
    /// A page of stack events (CloudFormation pages by size; about a hundred of its events fill one).
    static let stackEvents = 100

    static func token(_ kind: String, _ offset: Int) -> String { "\(kind)/\(offset)" }

    /// The offset a token of `kinds` gives, with its kind; nil for a token none of them made.
    static func offset(of token: String, kinds: [String]) -> (kind: String, offset: Int)? {
        let parts = token.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, kinds.contains(String(parts[0])), let offset = Int(parts[1]), offset >= 0 else { return nil }
        return (String(parts[0]), offset)
    }

    static func invalid(_ token: String) -> CommandOutcome {
        .failure(message: "Bad Request: the next token '\(token)' is not one this command gave; start again without --next-token.")
    }

    /// One page of a listing and the token of the next, when there is more.
    static func page<T>(_ items: [T], size: Int, kind: String, token: String?) -> Result<([T], next: String?), Providers.Refusal> {
        var start = 0
        if let token {
            guard let found = offset(of: token, kinds: [kind]) else { return .failure(Providers.Refusal(outcome: invalid(token))) }
            start = min(found.offset, items.count)
        }
        let end = min(start + size, items.count)
        return .success((Array(items[start..<end]), end < items.count ? self.token(kind, end) : nil))
    }

    /// A window of log events as GetLogEvents gives it: the newest `limit` (or the oldest with
    /// `fromHead`), or the events after a forward token (`f/N`) or before a backward one (`b/N`). Both
    /// tokens come back every time; at the end of the stream the forward token is the one passed in.
    static func events<T>(
        _ items: [T], limit: Int, fromHead: Bool, token: String?
    ) -> Result<([T], next: String, previous: String), Providers.Refusal> {
        let count = items.count
        var range: Range<Int>
        if let token {
            guard let found = offset(of: token, kinds: ["f", "b"]) else { return .failure(Providers.Refusal(outcome: invalid(token))) }
            let at = min(found.offset, count)
            range = found.kind == "f" ? at..<min(at + limit, count) : max(0, at - limit)..<at
        } else {
            range = fromHead ? 0..<min(limit, count) : max(0, count - limit)..<count
        }
        return .success((Array(items[range]), self.token("f", range.upperBound), self.token("b", range.lowerBound)))
    }
}
