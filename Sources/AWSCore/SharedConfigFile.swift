import Foundation

/// One parsed `~/.aws/config` or `~/.aws/credentials` file.
///
/// Written by hand because no available package reads the AWS shared-file dialect of INI: `[profile NAME]`
/// sections in the config file, bare `[NAME]` in the credentials file, and indented sub-keys under a key
/// with an empty value (`s3 =` followed by `  addressing_style = path`), which are stored as `s3.addressing_style`.
package struct SharedConfigFile: Sendable, Equatable {
    package enum Kind: Sendable { case config, credentials }

    package let path: String
    /// Section name (already stripped of the `profile ` prefix in config files) → key → value.
    package private(set) var sections: [String: [String: String]]

    package init(path: String, kind: Kind, contents: String) throws(AWSConfigurationError) {
        self.path = path
        self.sections = [:]
        var current: String?
        var parentKey: String?
        for (index, rawLine) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = String(rawLine).replacingOccurrences(of: "\r", with: "")
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else {
                    throw .malformedFile(path: path, line: lineNumber, reason: "a section header needs a closing ']'")
                }
                var name = String(trimmed.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if kind == .config {
                    // Other sections ("services NAME", "sso-session NAME") stay reachable by their full name.
                    if name.hasPrefix("profile ") {
                        name = String(name.dropFirst("profile ".count)).trimmingCharacters(in: .whitespaces)
                    }
                }
                guard !name.isEmpty else {
                    throw .malformedFile(path: path, line: lineNumber, reason: "a section header has no name")
                }
                current = name
                parentKey = nil
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current else {
                throw .malformedFile(
                    path: path, line: lineNumber,
                    reason: "'\(trimmed)' comes before any [section] header")
            }
            let isIndented = line.first == " " || line.first == "\t"
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw .malformedFile(
                    path: path, line: lineNumber,
                    reason: "expected 'key = value', found '\(trimmed)'")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw .malformedFile(path: path, line: lineNumber, reason: "a line has '=' but no key before it")
            }
            if isIndented, let parent = parentKey {
                sections[section]?["\(parent).\(key)"] = value
            } else {
                sections[section]?[key] = value
                parentKey = value.isEmpty ? key : nil
            }
        }
    }

    /// Reads the file if it exists; a missing file is simply no file (the CLI behaves the same way).
    package static func load(path: String, kind: Kind) throws(AWSConfigurationError) -> SharedConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .malformedFile(path: path, line: 0, reason: "the file cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .malformedFile(path: path, line: 0, reason: "the file is not UTF-8 text")
        }
        return try SharedConfigFile(path: path, kind: kind, contents: text)
    }

    package func section(_ name: String) -> [String: String]? { sections[name] }
}
