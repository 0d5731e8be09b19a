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
        case listProjection(Node, Node)  // left must be a list
        case valueProjection(Node, Node)  // left must be an object
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
}
