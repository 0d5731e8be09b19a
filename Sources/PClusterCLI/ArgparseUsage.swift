extension Argparse {
    /// argparse's usage text (`HelpFormatter._format_usage` in Python 3.11): `usage: PROG PARTS`, wrapped
    /// at `width` with continuation lines aligned after the program's name, or, for a long name, on lines
    /// of their own. Ends with a newline, as `format_usage` does.
    static func usage(prog: String, optionals usages: [String], positionals positionalUsages: [String], width: Int) -> String {
        let prefix = "usage: "
        let all = ([prog] + usages + positionalUsages).joined(separator: " ")
        guard prefix.count + all.count > width else { return prefix + all + "\n" }
        // Wrapped at these parts only: a bracketed option stays whole, a required one splits into words.
        let optionals = parts(usages.joined(separator: " ")), positionals = parts(positionalUsages.joined(separator: " "))
        func lines(_ parts: [String], indent: String, prefix: String? = nil) -> [String] {
            var result: [String] = [], line: [String] = []
            var length = (prefix?.count ?? indent.count) - 1
            for part in parts {
                if length + 1 + part.count > width && !line.isEmpty {
                    result.append(indent + line.joined(separator: " "))
                    line = []
                    length = indent.count - 1
                }
                line.append(part)
                length += part.count + 1
            }
            if !line.isEmpty { result.append(indent + line.joined(separator: " ")) }
            if prefix != nil, !result.isEmpty { result[0] = String(result[0].dropFirst(indent.count)) }
            return result
        }
        var text: [String]
        if Double(prefix.count + prog.count) <= 0.75 * Double(width) {
            let indent = String(repeating: " ", count: prefix.count + prog.count + 1)
            if !optionals.isEmpty {
                text = lines([prog] + optionals, indent: indent, prefix: prefix)
                text += lines(positionals, indent: indent)
            } else if !positionals.isEmpty {
                text = lines([prog] + positionals, indent: indent, prefix: prefix)
            } else {
                text = [prog]
            }
        } else {
            let indent = String(repeating: " ", count: prefix.count)
            text = lines(optionals + positionals, indent: indent)
            if text.count > 1 { text = lines(optionals, indent: indent) + lines(positionals, indent: indent) }
            text = [prog] + text
        }
        return prefix + text.joined(separator: "\n") + "\n"
    }

    /// argparse's usage parts: `(...)` or `[...]` up to closing brackets before a space or the end, else a
    /// word (the regular expression `\(.*?\)+(?=\s|$)|\[.*?\]+(?=\s|$)|\S+`).
    static func parts(_ text: String) -> [String] {
        let chars = Array(text)
        var found: [String] = []
        var index = 0
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" }
        while index < chars.count {
            if isSpace(chars[index]) {
                index += 1
                continue
            }
            var end: Int? = nil
            if let close: Character = chars[index] == "(" ? ")" : chars[index] == "[" ? "]" : nil {
                var j = index + 1
                while j < chars.count, end == nil {
                    if chars[j] == close {
                        var k = j
                        while k + 1 < chars.count, chars[k + 1] == close { k += 1 }
                        if k + 1 == chars.count || isSpace(chars[k + 1]) { end = k }
                        j = k
                    }
                    j += 1
                }
            }
            if end == nil {
                var k = index
                while k + 1 < chars.count, !isSpace(chars[k + 1]) { k += 1 }
                end = k
            }
            found.append(String(chars[index...end!]))
            index = end! + 1
        }
        return found
    }
}
