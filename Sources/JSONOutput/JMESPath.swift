/// A JMESPath evaluator for `--query`, written by hand because no Swift JMESPath package is
/// available here. It follows the JMESPath specification's grammar and projection semantics:
/// identifiers (bare and quoted), sub-expressions, indexes and slices, `[*]` / `.*` / `[]`
/// projections, filters with comparisons and `&&` `||` `!`, multi-select lists and hashes,
/// pipes, literals, `@`, and the common built-in functions.
public struct JMESPath: Sendable {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    let root: Node

    public init(_ expression: String) throws {
        var lexer = Lexer(expression)
        var parser = Parser(tokens: try lexer.tokens(), source: expression)
        root = try parser.parse()
    }

    public func search(_ value: JSONValue) throws -> JSONValue {
        try Evaluator.eval(root, value)
    }

    // MARK: AST

    indirect enum Node: Sendable {
        case current
        case field(String)
        case sub(Node, Node)
        case index(Int)
        case slice(Int?, Int?, Int?)
        case listProjection(Node, Node)     // left must be a list
        case valueProjection(Node, Node)    // left must be an object
        case filterProjection(Node, Node, Node)
        case flatten(Node)
        case compare(String, Node, Node)
        case and(Node, Node)
        case or(Node, Node)
        case not(Node)
        case pipe(Node, Node)
        case multiList([Node])
        case multiHash([(String, Node)])
        case literal(JSONValue)
        case function(String, [Node])
        case expref(Node)
        case indexExpression(Node, Node)
    }

    // MARK: Lexer

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
                    if peek(1) == "?" { out.append(.filterStart); i += 2 }
                    else if peek(1) == "]" { out.append(.flattenBrackets); i += 2 }
                    else { out.append(.lbracket); i += 1 }
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
                    do { out.append(.literal(try JSONValue.parse(text))) }
                    catch { throw self.error("bad literal `\(text)`") }
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

    // MARK: Parser (Pratt, with the specification's binding powers)

    struct Parser {
        var tokens: [Token]
        let source: String
        var pos = 0

        static func bindingPower(_ t: Token) -> Int {
            switch t {
            case .pipe: return 1
            case .or: return 2
            case .and: return 3
            case .compare: return 5
            case .flattenBrackets: return 9
            case .star: return 20
            case .filterStart: return 21
            case .dot: return 40
            case .not: return 45
            case .lbrace: return 50
            case .lbracket: return 55
            case .lparen: return 60
            default: return 0
            }
        }

        var current: Token { tokens[pos] }
        mutating func advance() { if pos < tokens.count - 1 { pos += 1 } }

        func error(_ what: String) -> ParseError {
            ParseError(description: "Invalid query string: \(what) in '\(source)'")
        }

        mutating func expect(_ t: Token) throws {
            guard current == t else { throw error("expected \(t), found \(current)") }
            advance()
        }

        mutating func parse() throws -> Node {
            let n = try expression(0)
            guard current == .end else { throw error("unexpected \(current)") }
            return n
        }

        mutating func expression(_ rbp: Int) throws -> Node {
            let t = current
            advance()
            var left = try nud(t)
            while rbp < Self.bindingPower(current) {
                let t = current
                advance()
                left = try led(t, left)
            }
            return left
        }

        mutating func nud(_ t: Token) throws -> Node {
            switch t {
            case .identifier(let s), .quotedIdentifier(let s):
                if current == .lparen, case .identifier = t { return try functionCall(s) }
                return .field(s)
            case .literal(let v): return .literal(v)
            case .rawString(let s): return .literal(.string(s))
            case .at: return .current
            case .star:
                return .valueProjection(.current, try projectionRHS(Self.bindingPower(.star)))
            case .filterStart:
                return try filter(.current)
            case .flattenBrackets:
                return .listProjection(.flatten(.current), try projectionRHS(Self.bindingPower(.flattenBrackets)))
            case .lbrace: return try multiHash()
            case .lbracket:
                if case .number = current { return try indexOrSlice(.current) }
                if current == .colon { return try indexOrSlice(.current) }
                if current == .star, tokens[pos + 1] == .rbracket {
                    advance(); advance()
                    return .listProjection(.current, try projectionRHS(Self.bindingPower(.star)))
                }
                return try multiList()
            case .not: return .not(try expression(Self.bindingPower(.not)))
            case .lparen:
                let e = try expression(0)
                try expect(.rparen)
                return e
            case .ampersand: return .expref(try expression(0))
            default: throw error("unexpected \(t)")
            }
        }

        mutating func led(_ t: Token, _ left: Node) throws -> Node {
            switch t {
            case .dot:
                if current == .star {
                    advance()
                    return .valueProjection(left, try projectionRHS(Self.bindingPower(.star)))
                }
                return .sub(left, try dotRHS(Self.bindingPower(.dot)))
            case .pipe: return .pipe(left, try expression(Self.bindingPower(.pipe)))
            case .or: return .or(left, try expression(Self.bindingPower(.or)))
            case .and: return .and(left, try expression(Self.bindingPower(.and)))
            case .compare(let op): return .compare(op, left, try expression(Self.bindingPower(t)))
            case .flattenBrackets:
                return .listProjection(.flatten(left), try projectionRHS(Self.bindingPower(.flattenBrackets)))
            case .filterStart: return try filter(left)
            case .lbracket:
                if current == .star, tokens[pos + 1] == .rbracket {
                    advance(); advance()
                    return .listProjection(left, try projectionRHS(Self.bindingPower(.star)))
                }
                return try indexOrSlice(left)
            default: throw error("unexpected \(t)")
            }
        }

        /// What follows a '.': parsed with the caller's binding power, so that after a projection
        /// the whole remaining chain (`a[*].b.c.*`) belongs to the projection.
        mutating func dotRHS(_ rbp: Int) throws -> Node {
            switch current {
            case .identifier, .quotedIdentifier, .star: return try expression(rbp)
            case .lbracket: advance(); return try multiList()
            case .lbrace: advance(); return try multiHash()
            default: throw error("expected an identifier after '.'")
            }
        }

        mutating func projectionRHS(_ rbp: Int) throws -> Node {
            if Self.bindingPower(current) < 10 { return .current }
            switch current {
            case .lbracket, .filterStart: return try expression(rbp)
            case .dot:
                advance()
                return try dotRHS(rbp)
            default: throw error("unexpected \(current) after a projection")
            }
        }

        mutating func filter(_ left: Node) throws -> Node {
            let cond = try expression(0)
            try expect(.rbracket)
            return .filterProjection(left, try projectionRHS(Self.bindingPower(.filterStart)), cond)
        }

        mutating func indexOrSlice(_ left: Node) throws -> Node {
            var parts: [Int?] = [nil, nil, nil]
            var idx = 0
            var sawColon = false
            while current != .rbracket {
                switch current {
                case .colon:
                    sawColon = true; idx += 1
                    guard idx < 3 else { throw error("too many ':' in a slice") }
                    advance()
                case .number(let n): parts[idx] = n; advance()
                default: throw error("expected a number or ':' in brackets")
                }
            }
            advance()
            if !sawColon {
                guard let n = parts[0] else { throw error("empty brackets") }
                return .indexExpression(left, .index(n))
            }
            let rhs = try projectionRHS(Self.bindingPower(.star))
            return .listProjection(.indexExpression(left, .slice(parts[0], parts[1], parts[2])), rhs)
        }

        mutating func multiList() throws -> Node {
            var items: [Node] = []
            while true {
                items.append(try expression(0))
                if current == .comma { advance(); continue }
                try expect(.rbracket)
                return .multiList(items)
            }
        }

        mutating func multiHash() throws -> Node {
            var pairs: [(String, Node)] = []
            while true {
                guard case .identifier(let k) = current else {
                    if case .quotedIdentifier(let k2) = current {
                        advance(); try expect(.colon)
                        pairs.append((k2, try expression(0)))
                        if current == .comma { advance(); continue }
                        try expect(.rbrace)
                        return .multiHash(pairs)
                    }
                    throw error("expected a key in '{...}'")
                }
                advance()
                try expect(.colon)
                pairs.append((k, try expression(0)))
                if current == .comma { advance(); continue }
                try expect(.rbrace)
                return .multiHash(pairs)
            }
        }

        mutating func functionCall(_ name: String) throws -> Node {
            advance()
            var args: [Node] = []
            if current == .rparen { advance(); return .function(name, args) }
            while true {
                args.append(try expression(0))
                if current == .comma { advance(); continue }
                try expect(.rparen)
                return .function(name, args)
            }
        }
    }

    // MARK: Evaluation

    public struct EvaluationError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    enum Evaluator {
        static func truthy(_ v: JSONValue) -> Bool {
            switch v {
            case .null: return false
            case .bool(let b): return b
            case .string(let s): return !s.isEmpty
            case .array(let a): return !a.isEmpty
            case .object(let o): return !o.isEmpty
            default: return true
            }
        }

        static func eval(_ node: Node, _ v: JSONValue) throws -> JSONValue {
            switch node {
            case .current: return v
            case .field(let name): return v[name] ?? .null
            case .sub(let l, let r):
                let lv = try eval(l, v)
                if lv.isNull { return .null }
                return try eval(r, lv)
            case .indexExpression(let l, let r):
                return try eval(r, try eval(l, v))
            case .index(let n):
                guard case .array(let a) = v else { return .null }
                let i = n < 0 ? a.count + n : n
                return (0..<a.count).contains(i) ? a[i] : .null
            case .slice(let start, let stop, let step):
                guard case .array(let a) = v else { return .null }
                return .array(try slice(a, start, stop, step))
            case .listProjection(let l, let r):
                guard case .array(let a) = try eval(l, v) else { return .null }
                var out: [JSONValue] = []
                for e in a { let x = try eval(r, e); if !x.isNull { out.append(x) } }
                return .array(out)
            case .valueProjection(let l, let r):
                guard case .object(let o) = try eval(l, v) else { return .null }
                var out: [JSONValue] = []
                for e in o.values { let x = try eval(r, e); if !x.isNull { out.append(x) } }
                return .array(out)
            case .filterProjection(let l, let r, let cond):
                guard case .array(let a) = try eval(l, v) else { return .null }
                var out: [JSONValue] = []
                for e in a where truthy(try eval(cond, e)) {
                    let x = try eval(r, e); if !x.isNull { out.append(x) }
                }
                return .array(out)
            case .flatten(let l):
                guard case .array(let a) = try eval(l, v) else { return .null }
                var out: [JSONValue] = []
                for e in a { if case .array(let inner) = e { out.append(contentsOf: inner) } else { out.append(e) } }
                return .array(out)
            case .compare(let op, let l, let r):
                return compare(op, try eval(l, v), try eval(r, v))
            case .and(let l, let r):
                let lv = try eval(l, v)
                return truthy(lv) ? try eval(r, v) : lv
            case .or(let l, let r):
                let lv = try eval(l, v)
                return truthy(lv) ? lv : try eval(r, v)
            case .not(let e): return .bool(!truthy(try eval(e, v)))
            case .pipe(let l, let r): return try eval(r, try eval(l, v))
            case .multiList(let items):
                if v.isNull { return .null }
                return .array(try items.map { try eval($0, v) })
            case .multiHash(let pairs):
                if v.isNull { return .null }
                var o = JSONObject()
                for (k, e) in pairs { o[k] = try eval(e, v) }
                return .object(o)
            case .literal(let l): return l
            case .expref: throw EvaluationError(description: "an expression reference (&) is only allowed as a function argument")
            case .function(let name, let args): return try call(name, args, v)
            }
        }

        static func slice(_ a: [JSONValue], _ start: Int?, _ stop: Int?, _ step: Int?) throws -> [JSONValue] {
            let step = step ?? 1
            guard step != 0 else { throw EvaluationError(description: "slice step cannot be 0") }
            let n = a.count
            func clamp(_ x: Int?, _ def: Int) -> Int {
                guard var x else { return def }
                if x < 0 { x += n; if x < 0 { x = step < 0 ? -1 : 0 } }
                else if x >= n { x = step < 0 ? n - 1 : n }
                return x
            }
            var out: [JSONValue] = []
            var i = clamp(start, step > 0 ? 0 : n - 1)
            let end = clamp(stop, step > 0 ? n : -1)
            while step > 0 ? i < end : i > end { out.append(a[i]); i += step }
            return out
        }

        static func number(_ v: JSONValue) -> Double? {
            switch v {
            case .int(let i): return Double(i)
            case .double(let d): return d
            default: return nil
            }
        }

        static func compare(_ op: String, _ a: JSONValue, _ b: JSONValue) -> JSONValue {
            switch op {
            case "==": return .bool(equal(a, b))
            case "!=": return .bool(!equal(a, b))
            default:
                guard let x = number(a), let y = number(b) else { return .null }
                switch op {
                case "<": return .bool(x < y)
                case "<=": return .bool(x <= y)
                case ">": return .bool(x > y)
                default: return .bool(x >= y)
                }
            }
        }

        static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
            if let x = number(a), let y = number(b) { return x == y }
            return a == b
        }

        static func typeName(_ v: JSONValue) -> String {
            switch v {
            case .null: return "null"
            case .bool: return "boolean"
            case .int, .double: return "number"
            case .string: return "string"
            case .array: return "array"
            case .object: return "object"
            }
        }

        static func call(_ name: String, _ argNodes: [Node], _ v: JSONValue) throws -> JSONValue {
            func arity(_ n: Int) throws {
                guard argNodes.count == n else {
                    throw EvaluationError(description: "\(name)() takes \(n) argument(s), got \(argNodes.count)")
                }
            }
            func typeError(_ what: String) -> EvaluationError {
                EvaluationError(description: "\(name)() expects \(what)")
            }
            func exprefArg(_ i: Int) throws -> Node {
                guard case .expref(let e) = argNodes[i] else { throw typeError("an &expression as argument \(i + 1)") }
                return e
            }
            let args: [JSONValue] = try argNodes.map { n in
                if case .expref = n { return .null }
                return try eval(n, v)
            }
            switch name {
            case "length":
                try arity(1)
                switch args[0] {
                case .string(let s): return .int(s.count)
                case .array(let a): return .int(a.count)
                case .object(let o): return .int(o.count)
                default: throw typeError("a string, array or object")
                }
            case "keys":
                try arity(1)
                guard case .object(let o) = args[0] else { throw typeError("an object") }
                return .array(o.keys.map { .string($0) })
            case "values":
                try arity(1)
                guard case .object(let o) = args[0] else { throw typeError("an object") }
                return .array(o.values)
            case "contains":
                try arity(2)
                switch args[0] {
                case .array(let a): return .bool(a.contains { equal($0, args[1]) })
                case .string(let s):
                    guard case .string(let t) = args[1] else { return .bool(false) }
                    return .bool(s.contains(t))
                default: throw typeError("an array or string")
                }
            case "starts_with", "ends_with":
                try arity(2)
                guard case .string(let s) = args[0], case .string(let t) = args[1] else { throw typeError("strings") }
                return .bool(name == "starts_with" ? s.hasPrefix(t) : s.hasSuffix(t))
            case "join":
                try arity(2)
                guard case .string(let sep) = args[0], case .array(let a) = args[1] else { throw typeError("a string and an array of strings") }
                let parts = try a.map { e -> String in
                    guard case .string(let s) = e else { throw typeError("an array of strings") }
                    return s
                }
                return .string(parts.joined(separator: sep))
            case "to_string":
                try arity(1)
                if case .string = args[0] { return args[0] }
                return .string(JSONPrinter.render(args[0], indent: nil))
            case "to_number":
                try arity(1)
                switch args[0] {
                case .int, .double: return args[0]
                case .string(let s):
                    if let i = Int(s) { return .int(i) }
                    if let d = Double(s) { return .double(d) }
                    return .null
                default: return .null
                }
            case "type":
                try arity(1)
                return .string(typeName(args[0]))
            case "not_null":
                return args.first(where: { !$0.isNull }) ?? .null
            case "reverse":
                try arity(1)
                switch args[0] {
                case .array(let a): return .array(a.reversed())
                case .string(let s): return .string(String(s.reversed()))
                default: throw typeError("an array or string")
                }
            case "sort":
                try arity(1)
                guard case .array(let a) = args[0] else { throw typeError("an array") }
                return .array(try sortValues(a, key: { $0 }))
            case "sort_by":
                try arity(2)
                guard case .array(let a) = args[0] else { throw typeError("an array") }
                let e = try exprefArg(1)
                return .array(try sortValues(a, key: { try eval(e, $0) }))
            case "max", "min":
                try arity(1)
                guard case .array(let a) = args[0] else { throw typeError("an array") }
                let sorted = try sortValues(a, key: { $0 })
                return (name == "max" ? sorted.last : sorted.first) ?? .null
            case "max_by", "min_by":
                try arity(2)
                guard case .array(let a) = args[0] else { throw typeError("an array") }
                let e = try exprefArg(1)
                let sorted = try sortValues(a, key: { try eval(e, $0) })
                return (name == "max_by" ? sorted.last : sorted.first) ?? .null
            case "sum":
                try arity(1)
                guard case .array(let a) = args[0] else { throw typeError("an array of numbers") }
                var allInt = true
                var total = 0.0
                var itotal = 0
                for e in a {
                    switch e {
                    case .int(let i): itotal += i; total += Double(i)
                    case .double(let d): allInt = false; total += d
                    default: throw typeError("an array of numbers")
                    }
                }
                return allInt ? .int(itotal) : .double(total)
            case "map":
                try arity(2)
                let e = try exprefArg(0)
                guard case .array(let a) = args[1] else { throw typeError("an array") }
                return .array(try a.map { try eval(e, $0) })
            default:
                throw EvaluationError(description: "unknown function \(name)()")
            }
        }

        static func sortValues(_ a: [JSONValue], key: (JSONValue) throws -> JSONValue) throws -> [JSONValue] {
            let keyed = try a.map { (try key($0), $0) }
            if keyed.allSatisfy({ number($0.0) != nil }) {
                return keyed.sorted { number($0.0)! < number($1.0)! }.map(\.1)
            }
            if keyed.allSatisfy({ $0.0.stringValue != nil }) {
                return keyed.sorted { $0.0.stringValue! < $1.0.stringValue! }.map(\.1)
            }
            throw EvaluationError(description: "sort needs all numbers or all strings")
        }
    }
}
