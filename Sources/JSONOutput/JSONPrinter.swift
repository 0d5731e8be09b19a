/// Renders JSON exactly as Python's `json.dumps(value, indent=2)` does (the original CLI's
/// printer): two-space indent, `", "`-free line breaks, `": "` after keys, ASCII-only output with
/// `\uXXXX` escapes, and `[]` / `{}` for empty containers.
public enum JSONPrinter {
    public static func render(_ value: JSONValue, indent: Int? = 2) -> String {
        var out = ""
        out.reserveCapacity(256)
        write(value, into: &out, level: 0, indent: indent)
        return out
    }

    /// One line without spaces, as Python's `json.dumps(v, separators=(",", ":"))` (JMESPath's to_string).
    public static func renderCompact(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, level: 0, indent: nil, compact: true)
        return out
    }

    static func write(_ value: JSONValue, into out: inout String, level: Int, indent: Int?, compact: Bool = false) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += formatDouble(d)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (n, v) in a.enumerated() {
                if n > 0 { out += indent == nil && !compact ? ", " : "," }
                newline(&out, level + 1, indent)
                write(v, into: &out, level: level + 1, indent: indent, compact: compact)
            }
            newline(&out, level, indent)
            out += "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{"
            for (n, entry) in o.entries.enumerated() {
                if n > 0 { out += indent == nil && !compact ? ", " : "," }
                newline(&out, level + 1, indent)
                writeString(entry.key, into: &out)
                out += compact ? ":" : ": "
                write(entry.value, into: &out, level: level + 1, indent: indent, compact: compact)
            }
            newline(&out, level, indent)
            out += "}"
        }
    }

    static func newline(_ out: inout String, _ level: Int, _ indent: Int?) {
        guard let indent else { return }
        out += "\n"
        out += String(repeating: " ", count: level * indent)
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
        return d.description  // shortest round-trip form, like Python's repr
    }

    static let hexDigits = Array("0123456789abcdef")

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value > 0x7E {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        appendU16(0xD800 + (v >> 10), &out)
                        appendU16(0xDC00 + (v & 0x3FF), &out)
                    } else {
                        appendU16(scalar.value, &out)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    static func appendU16(_ v: UInt32, _ out: inout String) {
        out += "\\u"
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((v >> UInt32(shift)) & 0xF)])
        }
    }
}
