import Foundation

// The lexer of `JMESPath`: an expression as tokens.
extension JMESPath {
    enum Token: Equatable, Sendable {
        case identifier(String), quotedIdentifier(String), number(Int), literal(JSONValue), rawString(String)
        case dot, star, lbracket, rbracket, filterStart, flattenBrackets, lbrace, rbrace, lparen, rparen
        case comma, colon, pipe, or, and, not, at, ampersand, compare(String), end
    }

    struct Lexer {
        let chars: [Character]
        var i = 0
        init(_ s: String) { chars = Array(s) }

        func error(_ what: String) -> ParseError { ParseError(description: "Invalid query string: \(what) at position \(i)") }

        mutating func tokens() throws -> [Token] {
            var out: [Token] = []
            while i < chars.count {
                let c = chars[i]
                switch c {
                case " ", "\t", "\n", "\r": i += 1
                case ".": out.append(.dot); i += 1
                case "*": out.append(.star); i += 1
                case "]": out.append(.rbracket); i += 1
                case "{": out.append(.lbrace); i += 1
                case "}": out.append(.rbrace); i += 1
                case "(": out.append(.lparen); i += 1
                case ")": out.append(.rparen); i += 1
                case ",": out.append(.comma); i += 1
                case ":": out.append(.colon); i += 1
                case "@": out.append(.at); i += 1
                case "[":
                    if peek(1) == "?" {
                        out.append(.filterStart); i += 2
                    } else if peek(1) == "]" {
                        out.append(.flattenBrackets); i += 2
                    } else {
                        out.append(.lbracket); i += 1
                    }
                case "|":
                    if peek(1) == "|" { out.append(.or); i += 2 } else { out.append(.pipe); i += 1 }
                case "&":
                    if peek(1) == "&" { out.append(.and); i += 2 } else { out.append(.ampersand); i += 1 }
                case "!":
                    if peek(1) == "=" { out.append(.compare("!=")); i += 2 } else { out.append(.not); i += 1 }
                case "=":
                    guard peek(1) == "=" else { throw error("'=' must be '=='") }
                    out.append(.compare("==")); i += 2
                case "<", ">":
                    if peek(1) == "=" { out.append(.compare(String(c) + "=")); i += 2 } else { out.append(.compare(String(c))); i += 1 }
                case "\"":
                    out.append(.quotedIdentifier(try delimited("\"", json: true)))
                case "'":
                    out.append(.rawString(try delimited("'", json: false)))
                case "`":
                    let text = try delimited("`", json: false)
                    do { out.append(.literal(try JSONValue.parse(text))) } catch { throw self.error("bad literal `\(text)`") }
                default:
                    if c == "-" || c.isNumber {
                        var s = String(c); i += 1
                        while i < chars.count, chars[i].isNumber { s.append(chars[i]); i += 1 }
                        guard let n = Int(s) else { throw error("bad number '\(s)'") }
                        out.append(.number(n))
                    } else if c.isLetter || c == "_" {
                        var s = ""
                        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" {
                            s.append(chars[i]); i += 1
                        }
                        out.append(.identifier(s))
                    } else {
                        throw error("unexpected character '\(c)'")
                    }
                }
            }
            out.append(.end)
            return out
        }

        func peek(_ n: Int) -> Character? { i + n < chars.count ? chars[i + n] : nil }

        mutating func delimited(_ d: Character, json: Bool) throws -> String {
            i += 1
            var s = ""
            while i < chars.count {
                let c = chars[i]
                if c == "\\", i + 1 < chars.count {
                    let n = chars[i + 1]
                    if n == d { s.append(n); i += 2; continue }
                    if json {
                        s.append(c); s.append(n); i += 2; continue
                    }
                    s.append(c); i += 1; continue
                }
                if c == d {
                    i += 1
                    if json {
                        guard case .string(let v) = try JSONValue.parse("\"" + s + "\"") else { throw error("bad identifier") }
                        return v
                    }
                    return s
                }
                s.append(c); i += 1
            }
            throw error("unterminated \(d)")
        }
    }
}
