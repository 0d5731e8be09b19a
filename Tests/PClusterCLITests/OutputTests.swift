import Foundation
import JSONOutput
import TestSupport
import Testing

@Suite("JSON output matches the original's printer, and --query follows JMESPath")
struct OutputTests {
    /// Asks the real Python `json.dumps(indent=2)` (what the original prints with) for the reference text.
    func pythonDumps(_ compactJSON: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import json,sys; print(json.dumps(json.loads(sys.stdin.read()), indent=2), end='')"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(compactJSON.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func printerMatchesPythonJsonDumps() throws {
        let value: JSONValue = [
            "message": "Request would have succeeded, but DryRun flag is set.",
            "list": [1, 2.5, true, nil, "é ü 😀 \u{7F} tab\t quote\" back\\ nl\n ctrl\u{01}"],
            "empty": [:], "emptyList": [], "nested": ["a": ["b": [["c": -3]]]],
        ]
        let compact = JSONPrinter.render(value, indent: nil)
        #expect(JSONPrinter.render(value) == (try pythonDumps(compact)))
    }

    @Test func parserKeepsKeyOrderAndRoundTrips() throws {
        let text = #"{"z": 1, "a": [true, null, {"k": "v\u00e9"}], "m": -2.5e3}"#
        let v = try JSONValue.parse(text)
        #expect(v.objectValue?.keys == ["z", "a", "m"])
        #expect(v["a"]?.arrayValue?[2]["k"] == "vé")
        #expect(try JSONValue.parse(JSONPrinter.render(v)) == v)
        #expect(throws: JSONParseError.self) { try JSONValue.parse("{\"a\": }") }
    }

    static let doc: JSONValue = [
        "clusters": [
            ["clusterName": "a", "clusterStatus": "CREATE_COMPLETE", "nodes": 3, "scheduler": ["type": "slurm"]],
            ["clusterName": "b", "clusterStatus": "CREATE_FAILED", "nodes": 1, "scheduler": ["type": "slurm"]],
            ["clusterName": "c", "clusterStatus": "CREATE_COMPLETE", "nodes": 7, "scheduler": ["type": "slurm"]],
        ],
        "version": "3.16.1",
    ]

    static let expressions = [
        "version", "clusters[*].clusterName", "clusters[0].scheduler.type", "clusters[-1].clusterName",
        "clusters[?clusterStatus=='CREATE_COMPLETE'].clusterName", "clusters[?nodes > `2`].nodes",
        "clusters[*].[clusterName, nodes]", "clusters[*].{n: clusterName}", "length(clusters)", "clusters[*].nodes | sum(@)",
        "max_by(clusters, &nodes).clusterName", "sort_by(clusters, &nodes)[*].clusterName", "clusters[1:].clusterName",
        "clusters[1:][*].clusterName", "clusters[::-1][0].clusterName", "reverse(clusters)[0].clusterName", "missing.field",
        "clusters[*].scheduler.*", "clusters[?!(nodes < `3`) && clusterStatus != 'x'].clusterName",
        "join(', ', clusters[*].clusterName)", "keys(clusters[0])", "clusters[].nodes", "clusters[*].scheduler.type | [0]",
        "clusters[?contains(clusterName, 'b')] | length(@)", "*.type", "clusters[0].*", "clusters[:2].nodes",
        "clusters[?nodes >= `3`] | [-1].nodes", "version || missing", "missing || version", "clusters[0].nodes == `3`",
        "\"version\"", "clusters[*].nodes[]", "min(clusters[*].nodes)", "starts_with(version, '3.')", "type(clusters)",
        "avg(clusters[*].nodes)", "abs(`-3`)", "abs(`-2.5`)", "ceil(`1.2`)", "floor(`-1.2`)", "to_array(version)",
        "to_array(clusters[*].nodes)", "merge(clusters[0], {extra: version}, {nodes: `9`})", "to_string(clusters[0])",
        "to_string(clusters[*].nodes)", "avg(`[]`)",
    ]

    /// Each expression against Python's jmespath package (the reference implementation, installed
    /// with the AWS CLI), on the same document.
    @Test func jmespathAgreesWithTheReferenceImplementation() async throws {
        let program = """
            import json, sys, jmespath
            data = json.loads(sys.stdin.readline())
            for line in sys.stdin:
                print(json.dumps(jmespath.search(json.loads(line), data), sort_keys=True))
            """
        var lines = JSONPrinter.render(Self.doc, indent: nil) + "\n"
        for e in Self.expressions { lines += JSONPrinter.render(.string(e), indent: nil) + "\n" }
        let answer = try await python(program, input: Data(lines.utf8))
        let expected = String(decoding: answer, as: UTF8.self).split(separator: "\n")
        try #require(expected.count == Self.expressions.count, "python jmespath did not answer every expression")
        for (e, reference) in zip(Self.expressions, expected) {
            let ours = try JMESPath(e).search(Self.doc)
            #expect(ours == (try JSONValue.parse(String(reference))), "\(e): ours \(JSONPrinter.render(ours, indent: nil)), reference \(reference)")
        }
    }

    @Test func malformedQueriesAreParseErrors() {
        for q in ["clusters[", "a..b", "[?a==]", "`{bad`", "a = b", "foo(", "{a}"] {
            #expect(throws: JMESPath.ParseError.self, "\(q)") { _ = try JMESPath(q) }
        }
    }
}
