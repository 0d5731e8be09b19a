import Foundation

/// Reading the fields of a decoded JSON request with FSx's errors for what is missing or of the wrong type.
extension FSxService {
    static func string(_ input: [String: Any], _ key: String, required: Bool = false) throws -> String? {
        guard let value = input[key] else {
            if required { throw FSxError.badRequest("\(key) is required.") }
            return nil
        }
        guard let text = value as? String else { throw FSxError.badRequest("\(key) must be a string.") }
        return text
    }

    static func int(_ input: [String: Any], _ key: String) throws -> Int? {
        guard let value = input[key] else { return nil }
        guard let number = value as? Int else { throw FSxError.badRequest("\(key) must be an integer.") }
        return number
    }

    static func strings(_ input: [String: Any], _ key: String) throws -> [String]? {
        guard let value = input[key] else { return nil }
        guard let list = value as? [String] else { throw FSxError.badRequest("\(key) must be a list of strings.") }
        return list
    }

    static func tags(_ input: [String: Any]) throws -> [[String: String]] {
        guard let value = input["Tags"] else { return [] }
        guard let list = value as? [[String: Any]] else { throw FSxError.badRequest("Tags must be a list of {Key, Value}.") }
        return try list.map { tag in
            guard let key = tag["Key"] as? String, !key.isEmpty, key.utf8.count <= 128 else {
                throw FSxError.badRequest("Each tag needs a Key of 1 to 128 characters.")
            }
            let value = tag["Value"] as? String ?? ""
            guard value.utf8.count <= 256 else { throw FSxError.badRequest("Tag values are at most 256 characters.") }
            return ["Key": key, "Value": value]
        }
    }

    static func page<T>(_ items: [T], _ input: [String: Any]) throws -> (items: [T], next: String?) {
        let maximum = try int(input, "MaxResults") ?? 2_147_483_647
        guard maximum >= 1 else { throw FSxError.badRequest("MaxResults must be at least 1.") }
        var start = 0
        if let token = try string(input, "NextToken") {
            guard let value = Int(token), value >= 0, value <= items.count else { throw FSxError.badRequest("NextToken '\(token)' is not valid.") }
            start = value
        }
        let end = min(items.count, start + maximum)
        return (Array(items[start..<end]), end < items.count ? String(end) : nil)
    }
}
