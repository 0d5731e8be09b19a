import Foundation
import Yams

/// A config file read, parsed and expanded; what the schema checker and validators work on.
public struct ConfigDocument: Sendable {
    /// The file name as the user gave it, used in every location.
    public let file: String
    public let root: ConfigNode
    /// The text after reading (before variable expansion), kept for the update-cluster diff and records.
    public let text: String

    public func location(of path: ConfigPath) -> SourceLocation {
        let found = root.deepest(path)
        // A missing key points at its parent mapping; a present one at its value (or key, for containers).
        let mark: ConfigNode.Mark
        if found.complete, case .scalar = found.node {
            mark = found.node.mark
        } else {
            mark = found.keyMark ?? found.node.mark
        }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    public func location(_ mark: ConfigNode.Mark) -> SourceLocation {
        SourceLocation(file: file, line: mark.line, column: mark.column)
    }
}

/// A problem that stops the file from being read as YAML at all: one clear message, never a crash.
public struct ConfigFileError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let location: SourceLocation?
    public let reason: String

    public var description: String {
        if let location { return "\(location): \(reason)" }
        return "\(file): \(reason)"
    }
}

public enum ConfigLoader {
    /// No real cluster config comes close; refusing early keeps a stray 50 MB file from eating memory.
    public static let maximumFileSize = 8 << 20
    /// YAML aliases can make a tiny file describe an exponential tree ("billion laughs").
    public static let maximumNodeCount = 200_000

    /// Reads a config file, checking first that it is a readable, reasonably sized text file.
    public static func read(path: String, environment: [String: String]) throws -> (ConfigDocument, [ValidationMessage]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ConfigFileError(file: path, location: nil, reason: "no such file")
        }
        if isDir.boolValue {
            throw ConfigFileError(file: path, location: nil, reason: "is a directory, not a cluster configuration file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.isReadableFile(atPath: path) ? "cannot be opened" : "permission denied (cannot read the file)"
            throw ConfigFileError(file: path, location: nil, reason: reason)
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
        } catch {
            throw ConfigFileError(file: path, location: nil, reason: "cannot be read: \(error.localizedDescription)")
        }
        if data.count > maximumFileSize {
            let attrs = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attrs?[.size] as? NSNumber)?.intValue ?? data.count
            throw ConfigFileError(
                file: path, location: nil,
                reason: String(format: "is %.1f MB; a cluster configuration must be smaller than %d MB", Double(size) / 1e6, maximumFileSize >> 20))
        }
        return try parse(data: data, file: path, environment: environment)
    }

    /// Parses YAML bytes. Returns the document and the findings of variable expansion
    /// (unset variables), or throws a `ConfigFileError` when the bytes are not usable YAML.
    public static func parse(data: Data, file: String, environment: [String: String]) throws -> (ConfigDocument, [ValidationMessage]) {
        if let nul = data.firstIndex(of: 0) {
            let line = data[data.startIndex..<nul].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            throw ConfigFileError(
                file: file, location: SourceLocation(file: file, line: line, column: 1),
                reason: "the file is binary, not YAML text (it contains a NUL byte)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFileError(file: file, location: nil, reason: "the file is not valid UTF-8 text")
        }
        return try parse(text: text, file: file, environment: environment)
    }

    public static func parse(text: String, file: String, environment: [String: String]) throws -> (ConfigDocument, [ValidationMessage]) {
        if let tab = firstIndentationTab(in: text) {
            throw ConfigFileError(
                file: file, location: SourceLocation(file: file, line: tab.line, column: tab.column),
                reason: "a tab character is used for indentation; YAML indents with spaces only")
        }
        let composed: Node?
        do {
            // The basic resolver skips Yams' regex-based tag resolution; values are typed by ConfigNode (YAML 1.1 rules).
            composed = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw describe(error, file: file)
        } catch {
            throw ConfigFileError(file: file, location: nil, reason: "not valid YAML: \(error)")
        }
        guard let composed else {
            throw ConfigFileError(
                file: file, location: nil, reason: "the file is empty; a cluster configuration needs at least Image, HeadNode and Scheduling")
        }
        var converter = Converter(file: file, environment: environment)
        let root = try converter.convert(composed)
        guard case .mapping = root else {
            throw ConfigFileError(
                file: file, location: SourceLocation(file: file, line: root.mark.line, column: root.mark.column),
                reason: "the top level must be a mapping of sections (Image, HeadNode, Scheduling, ...), found \(root.kindDescription)")
        }
        return (ConfigDocument(file: file, root: root, text: text), converter.findings)
    }

    static func firstIndentationTab(in text: String) -> (line: Int, column: Int)? {
        var line = 1
        var column = 1
        var inIndent = true
        for scalar in text.unicodeScalars {
            if scalar == "\n" { line += 1; column = 1; inIndent = true; continue }
            if inIndent {
                if scalar == "\t" { return (line, column) }
                if scalar != " " && scalar != "-" { inIndent = false }
            }
            column += 1
        }
        return nil
    }

    static func describe(_ error: YamlError, file: String) -> ConfigFileError {
        func at(_ mark: Yams.Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            // libyaml's own wording names its C API; say what it means for the file.
            let readable = problem.contains("Maximum nesting level") ? "the document nests deeper than YAML parsing allows" : problem
            var reason = "invalid YAML: \(readable)"
            if let context { reason += " (\(context.text) at \(context.mark.line):\(context.mark.column))" }
            return ConfigFileError(file: file, location: at(mark), reason: reason)
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigFileError(
                file: file, location: at(context.mark),
                reason: "duplicate key \(names) in the same mapping; each key may appear once")
        case let .reader(problem, offset, _, _):
            return ConfigFileError(file: file, location: nil, reason: "unreadable text: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return ConfigFileError(file: file, location: nil, reason: "not valid YAML: \(error)")
        }
    }

    /// Turns Yams nodes into `ConfigNode`s, expanding `$NAME` / `${NAME}` in values and counting
    /// nodes so an alias bomb is refused instead of expanded.
    struct Converter {
        let file: String
        let environment: [String: String]
        var findings: [ValidationMessage] = []
        var count = 0

        init(file: String, environment: [String: String]) {
            self.file = file
            self.environment = environment
        }

        static func mark(_ m: Yams.Mark?) -> ConfigNode.Mark {
            ConfigNode.Mark(line: m?.line ?? 1, column: m?.column ?? 1)
        }

        mutating func convert(_ node: Node) throws -> ConfigNode {
            count += 1
            if count > ConfigLoader.maximumNodeCount {
                let m = Self.mark(node.mark)
                throw ConfigFileError(
                    file: file, location: SourceLocation(file: file, line: m.line, column: m.column),
                    reason:
                        "the document expands to more than \(ConfigLoader.maximumNodeCount) values through YAML aliases (an alias bomb?); refusing to expand it"
                )
            }
            switch node {
            case .scalar(let s):
                let mark = Self.mark(s.mark)
                let plain = s.style == .plain || s.style == .any
                let text = expand(s.string, at: mark, quoted: !plain)
                return .scalar(.init(text: text, isPlain: plain, mark: mark))
            case .mapping(let m):
                var entries: [ConfigNode.Entry] = []
                entries.reserveCapacity(m.count)
                for (k, v) in m {
                    let km = Self.mark(k.mark)
                    guard case .scalar(let ks) = k else {
                        throw ConfigFileError(
                            file: file, location: SourceLocation(file: file, line: km.line, column: km.column),
                            reason: "a mapping key must be a plain name, found a \(k.mapping != nil ? "mapping" : "list") used as a key")
                    }
                    entries.append(.init(key: ks.string, keyMark: km, value: try convert(v)))
                }
                return .mapping(.init(entries: entries, mark: Self.mark(m.mark)))
            case .sequence(let s):
                var items: [ConfigNode] = []
                items.reserveCapacity(s.count)
                for item in s { items.append(try convert(item)) }
                return .sequence(.init(items: items, mark: Self.mark(s.mark)))
            case .alias(let a):
                let m = Self.mark(a.mark)
                throw ConfigFileError(
                    file: file, location: SourceLocation(file: file, line: m.line, column: m.column),
                    reason: "unresolved YAML alias")
            }
        }

        /// Expands `$NAME` and `${NAME}` from the environment; `$$` is a literal `$`. An unset
        /// variable is reported at its own column and left unexpanded.
        mutating func expand(_ text: String, at mark: ConfigNode.Mark, quoted: Bool) -> String {
            guard text.utf8.contains(UInt8(ascii: "$")) else { return text }
            let chars = Array(text.unicodeScalars)
            var out = String.UnicodeScalarView()
            var i = 0
            func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && CharacterSet.letters.contains(c)) }
            func isNameChar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
            while i < chars.count {
                let c = chars[i]
                guard c == "$", i + 1 < chars.count else { out.append(c); i += 1; continue }
                let next = chars[i + 1]
                if next == "$" { out.append("$"); i += 2; continue }
                var name = ""
                var end = i + 1
                if next == "{" {
                    var j = i + 2
                    while j < chars.count, chars[j] != "}" { j += 1 }
                    guard j < chars.count else { out.append(c); i += 1; continue }
                    name = String(String.UnicodeScalarView(chars[(i + 2)..<j]))
                    end = j + 1
                    guard let first = name.unicodeScalars.first, isNameStart(first), name.unicodeScalars.allSatisfy(isNameChar) else {
                        report(
                            "'${\(name)}' is not a valid variable reference (names are letters, digits and '_')", mark, offset: i, quoted: quoted,
                            text: text)
                        out.append(contentsOf: chars[i..<end]); i = end; continue
                    }
                } else if isNameStart(next) {
                    var j = i + 1
                    while j < chars.count, isNameChar(chars[j]) { j += 1 }
                    name = String(String.UnicodeScalarView(chars[(i + 1)..<j]))
                    end = j
                } else {
                    out.append(c); i += 1; continue
                }
                if let value = environment[name] {
                    out.append(contentsOf: value.unicodeScalars)
                } else {
                    report(
                        "environment variable $\(name) is not set; set it (export \(name)=...) or write the value in the file",
                        mark, offset: i, quoted: quoted, text: text)
                    out.append(contentsOf: chars[i..<end])
                }
                i = end
            }
            return String(out)
        }

        mutating func report(_ message: String, _ mark: ConfigNode.Mark, offset: Int, quoted: Bool, text: String) {
            // Columns are exact for one-line scalars, which is where variables live in practice.
            let column = text.contains("\n") ? mark.column : mark.column + offset + (quoted ? 1 : 0)
            findings.append(
                ValidationMessage(
                    level: .error, type: "ConfigSchemaValidator", message: message,
                    location: SourceLocation(file: file, line: mark.line, column: column)))
        }
    }
}
