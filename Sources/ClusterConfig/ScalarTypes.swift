import Foundation

/// What the original's YAML reader (PyYAML's safe_load, YAML 1.1) makes of a scalar. The original's
/// schema types its fields by these values, so `Name: 123` is a number there, not a string, and
/// `Time: 1:30` is the integer 90. Written here because Yams resolves by YAML 1.2's core schema.
public enum YAMLValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    /// An integer too large for Int: still a number, never a string.
    case bigInt
    case float(Double)
    case timestamp
    case string(String)
}

extension YAMLValue {
    /// What an unquoted scalar with this text is.
    public static func plain(_ text: String) -> YAMLValue { YAML11.resolve(text) }
}

extension ConfigNode.Scalar {
    public var resolved: YAMLValue {
        guard isPlain else { return .string(text) }
        return YAML11.resolve(text)
    }
}

enum YAML11 {
    // PyYAML's implicit resolvers, in the order it tries them.
    static let bools: [String: Bool] = [
        "yes": true, "Yes": true, "YES": true, "true": true, "True": true, "TRUE": true, "on": true, "On": true, "ON": true,
        "no": false, "No": false, "NO": false, "false": false, "False": false, "FALSE": false, "off": false, "Off": false,
        "OFF": false,
    ]
    static let float = regex(
        #"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"#
    )
    static let int = regex(
        #"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"#)
    static let timestamp = regex(
        #"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"#
    )
    static let nulls: Set<String> = ["", "~", "null", "Null", "NULL"]

    static func regex(_ pattern: String) -> NSRegularExpression {
        // The patterns are constants of this file; a typo is a programming error found by the tests.
        try! NSRegularExpression(pattern: pattern)
    }

    static func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    static func resolve(_ text: String) -> YAMLValue {
        if nulls.contains(text) { return .null }
        if let b = bools[text] { return .bool(b) }
        guard let first = text.unicodeScalars.first, "-+.0123456789".unicodeScalars.contains(first) else { return .string(text) }
        if matches(float, text) { return floatValue(text).map { .float($0) } ?? .string(text) }
        if matches(int, text) { return intValue(text) }
        if matches(timestamp, text) { return .timestamp }
        return .string(text)
    }

    static func intValue(_ raw: String) -> YAMLValue {
        var t = Substring(raw.replacingOccurrences(of: "_", with: ""))
        var sign = 1
        if t.first == "-" { sign = -1 }
        if t.first == "-" || t.first == "+" { t = t.dropFirst() }
        let value: Int?
        if t == "0" {
            value = 0
        } else if t.hasPrefix("0b") {
            value = Int(t.dropFirst(2), radix: 2)
        } else if t.hasPrefix("0x") {
            value = Int(t.dropFirst(2), radix: 16)
        } else if t.hasPrefix("0") {
            value = Int(t.dropFirst(), radix: 8)
        } else if t.contains(":") {
            var total = 0
            for part in t.split(separator: ":") {
                guard let d = Int(part) else { return .bigInt }
                let (m, o1) = total.multipliedReportingOverflow(by: 60)
                let (s, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return .bigInt }
                total = s
            }
            value = total
        } else {
            value = Int(t)
        }
        guard let value else { return .bigInt }
        return .int(sign * value)
    }

    static func floatValue(_ raw: String) -> Double? {
        let t = raw.replacingOccurrences(of: "_", with: "").lowercased()
        switch t {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        if t.contains(":") {
            var sign = 1.0
            var body = Substring(t)
            if body.first == "-" { sign = -1 }
            if body.first == "-" || body.first == "+" { body = body.dropFirst() }
            var total = 0.0
            for part in body.split(separator: ":") {
                guard let d = Double(part) else { return nil }
                total = total * 60 + d
            }
            return sign * total
        }
        return Double(t)
    }
}

/// How the original's schema library (marshmallow) reads a YAML value as each field type: not
/// YAML's types, but Python's conversions. `Enabled: 1`, `Enabled: "yes"` and `Count: "12"` are
/// accepted there, `Count: 1.5` is read as 1, and `Name: 123` is refused.
public enum Marshmallow {
    static let truthy: Set<String> = ["t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES", "1"]
    static let falsy: Set<String> = ["f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO", "0"]

    public static func string(_ v: YAMLValue) -> String? {
        if case .string(let s) = v { return s }
        return nil
    }

    public static func boolean(_ v: YAMLValue) -> Bool? {
        switch v {
        case .bool(let b): return b
        case .int(let i): return i == 1 ? true : i == 0 ? false : nil
        case .float(let d): return d == 1 ? true : d == 0 ? false : nil
        case .string(let s): return truthy.contains(s) ? true : falsy.contains(s) ? false : nil
        default: return nil
        }
    }

    /// Python's int() of the value: floats truncate, strings parse as decimal with underscores between digits.
    public static func integer(_ v: YAMLValue) -> Int? {
        switch v {
        case .int(let i): return i
        case .float(let d): return d.isFinite && abs(d) < 9.2e18 ? Int(d.rounded(.towardZero)) : nil
        case .string(let s): return pythonInt(s)
        default: return nil
        }
    }

    /// Python's float() of the value.
    public static func number(_ v: YAMLValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .float(let d): return d
        case .string(let s):
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            guard underscoresBetweenDigits(t) else { return nil }
            let clean = t.replacingOccurrences(of: "_", with: "")
            switch clean.lowercased() {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            case "nan", "+nan", "-nan": return .nan
            default: break
            }
            guard clean.allSatisfy({ "0123456789+-.eE".contains($0) }) else { return nil }
            return Double(clean)
        default: return nil
        }
    }

    static func pythonInt(_ s: String) -> Int? {
        var t = Substring(s.trimmingCharacters(in: .whitespacesAndNewlines))
        var sign = 1
        if t.first == "-" { sign = -1 }
        if t.first == "-" || t.first == "+" { t = t.dropFirst() }
        guard !t.isEmpty, t.first != "_", t.last != "_", underscoresBetweenDigits(String(t)),
            t.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" })
        else { return nil }
        return Int(t.replacingOccurrences(of: "_", with: "")).map { $0 * sign }
    }

    static func underscoresBetweenDigits(_ s: String) -> Bool {
        let chars = Array(s)
        for (i, c) in chars.enumerated() where c == "_" {
            guard i > 0, i < chars.count - 1, chars[i - 1].isNumber, chars[i + 1].isNumber else { return false }
        }
        return true
    }
}

extension YAMLValue {
    /// How a user would name the type, for messages.
    public var typeName: String {
        switch self {
        case .null: return "nothing"
        case .bool: return "a boolean"
        case .int, .bigInt: return "an integer"
        case .float: return "a number"
        case .timestamp: return "a date"
        case .string: return "a string"
        }
    }
}
