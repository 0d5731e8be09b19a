import AWSFSx
import Foundation

/// Decoding a request into its FSx shape, with FSx's errors for a body that is not JSON, a field of the wrong
/// type, and a field that is missing.
extension FSxService {
    static func decode<Request: Decodable>(_ body: Data, for operation: String) throws -> Request {
        let json = body.isEmpty ? Data("{}".utf8) : body
        do {
            return try JSONDecoder().decode(Request.self, from: json)
        } catch let error as DecodingError {
            guard (try? JSONDecoder().decode(AnyJSONObject.self, from: json)) != nil else {
                throw FSxError("SerializationException", "The request body is not a JSON object.")
            }
            throw Self.refusal(error, operation: operation)
        }
    }

    /// Decodes from any JSON object and from nothing else: tells a body that is not one from a field that does
    /// not fit.
    struct AnyJSONObject: Decodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: Key.self)
        }
    }

    static func encode(_ answer: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(answer)
    }

    /// What was wrong with the request, named by its field path ("Report.Enabled", "Tags[2].Key").
    static func refusal(_ error: DecodingError, operation: String) -> FSxError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case .typeMismatch(let type, let context) where !context.codingPath.isEmpty:
            let kind: String
            switch type {
            case is String.Type: kind = "a string"
            case is Int.Type, is Int64.Type: kind = "an integer"
            case is Bool.Type: kind = "a boolean"
            case is [Any].Type, is [String].Type: kind = "a list"
            default: kind = "an object"
            }
            return FSxError.badRequest("\(path(context.codingPath)) must be \(kind).")
        case .valueNotFound(_, let context) where !context.codingPath.isEmpty:
            return FSxError.badRequest("\(path(context.codingPath)) must not be null.")
        case .keyNotFound(let key, let context):
            return FSxError.badRequest("\(path(context.codingPath + [key])) is required.")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return FSxError.badRequest("\(path(context.codingPath)) is not valid: \(context.debugDescription)")
        default:
            // The decoder names no field for a number that does not fit its type (1.5 where an integer goes).
            return FSxError.badRequest(
                "The request does not fit \(operation): a field holds a value of the wrong kind "
                    + "(such as a fraction or a number too large where an integer goes).")
        }
    }

    static func required<T>(_ value: T?, _ name: String) throws -> T {
        guard let value else { throw FSxError.badRequest("\(name) is required.") }
        return value
    }

    /// Tags as FSx accepts them: a Key of 1 to 128 characters, a Value of at most 256 (missing means "").
    static func tags(_ tags: [FSxTag]?) throws -> [FSxTag] {
        try (tags ?? []).map { tag in
            guard !tag.Key.isEmpty, tag.Key.utf8.count <= 128 else {
                throw FSxError.badRequest("Each tag needs a Key of 1 to 128 characters.")
            }
            let value = tag.Value ?? ""
            guard value.utf8.count <= 256 else { throw FSxError.badRequest("Tag values are at most 256 characters.") }
            return FSxTag(Key: tag.Key, Value: value)
        }
    }

    static func page<T>(_ items: [T], maxResults: Int?, nextToken: String?) throws -> (items: [T], next: String?) {
        let maximum = maxResults ?? 2_147_483_647
        guard maximum >= 1 else { throw FSxError.badRequest("MaxResults must be at least 1.") }
        var start = 0
        if let token = nextToken {
            guard let value = Int(token), value >= 0, value <= items.count else { throw FSxError.badRequest("NextToken '\(token)' is not valid.") }
            start = value
        }
        let end = min(items.count, start + maximum)
        return (Array(items[start..<end]), end < items.count ? String(end) : nil)
    }
}
