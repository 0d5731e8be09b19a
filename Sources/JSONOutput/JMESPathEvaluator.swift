import Foundation

// The evaluator of `JMESPath`: the syntax tree applied to a JSON value.
extension JMESPath {
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
                if x < 0 { x += n; if x < 0 { x = step < 0 ? -1 : 0 } } else if x >= n { x = step < 0 ? n - 1 : n }
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
                return .string(JSONPrinter.renderCompact(args[0]))
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
            case "abs":
                try arity(1)
                switch args[0] {
                case .int(let i): return .int(abs(i))
                case .double(let d): return .double(abs(d))
                default: throw typeError("a number")
                }
            case "ceil", "floor":
                try arity(1)
                guard let d = number(args[0]) else { throw typeError("a number") }
                let rounded = name == "ceil" ? d.rounded(.up) : d.rounded(.down)
                return abs(rounded) < 9e18 ? .int(Int(rounded)) : .double(rounded)
            case "avg":
                try arity(1)
                guard case .array(let a) = args[0] else { throw typeError("an array of numbers") }
                let values = try a.map { e -> Double in
                    guard let d = number(e) else { throw typeError("an array of numbers") }
                    return d
                }
                return values.isEmpty ? .null : .double(values.reduce(0, +) / Double(values.count))
            case "merge":
                guard !args.isEmpty else { throw EvaluationError(description: "merge() takes at least 1 argument") }
                var merged = JSONObject()
                for a in args {
                    guard case .object(let o) = a else { throw typeError("objects") }
                    for (k, value) in o.entries { merged[k] = value }
                }
                return .object(merged)
            case "to_array":
                try arity(1)
                if case .array = args[0] { return args[0] }
                return .array([args[0]])
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
