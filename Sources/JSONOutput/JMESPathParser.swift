import Foundation

// The parser of `JMESPath`: tokens to the syntax tree (Pratt, with the specification's binding powers).
extension JMESPath {
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
}
