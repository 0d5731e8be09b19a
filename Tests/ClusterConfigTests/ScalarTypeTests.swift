import ClusterConfig
import Foundation
import TestSupport
import Testing

/// Plain scalars as the original's YAML reader (PyYAML, YAML 1.1) types them, checked against PyYAML itself.
@Suite struct ScalarTypeTests {
    static let samples = [
        "yes", "No", "on", "OFF", "y", "true", "TRUE", "tRue", "~", "null", "NULL", "", "0", "-0", "+12", "0755", "08", "0x1F",
        "0b101", "1_000", "1:30", "1:30:05", "190:20:30", "03:00", "1:02:30", "1.5", "1.", ".5", "1e3", "1.0e+3", "1.0e3",
        "-.inf", ".NaN", ".nan", "2024-01-02", "2024-1-2 10:20:30", "2024-13-45", "12abc", "abc", "+", ".", "1__0",
        "1:60", "0.5:1", "9223372036854775808", "ami-123", "10.0.0.0/16", "v2.0", "1.2.3",
    ]

    @Test func plainScalarsResolveAsPyYAMLDoes() async throws {
        let script = """
            import json, sys, yaml, datetime
            out = []
            for text in json.load(sys.stdin):
                try:
                    v = yaml.safe_load("k: " + text + "\\n")["k"] if text else None
                except Exception:
                    v = datetime.date.today()  # an impossible date: PyYAML fails on it, and so does the original
                if v is None: out.append(["null", None])
                elif isinstance(v, bool): out.append(["bool", v])
                elif isinstance(v, int): out.append(["int", v if abs(v) < 2**63 else None])
                elif isinstance(v, float): out.append(["float", None if v != v else (str(v))])
                elif isinstance(v, (datetime.date, datetime.datetime)): out.append(["timestamp", None])
                else: out.append(["string", v])
            print(json.dumps(out))
            """
        let data = try await python(script, input: try JSONEncoder().encode(Self.samples))
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [[Any]])
        for (text, pair) in zip(Self.samples, expected) {
            let kind = pair[0] as! String
            let ours = YAMLValue.plain(text)
            switch (kind, ours) {
            case ("null", .null), ("timestamp", .timestamp): break
            case ("bool", .bool(let b)): #expect(b == pair[1] as? Bool, "\(text)")
            case ("int", .int(let i)): #expect(i == (pair[1] as? NSNumber)?.intValue, "\(text)")
            case ("int", .bigInt): #expect(pair[1] is NSNull, "\(text)")
            case ("float", .float(let d)):
                if let shown = pair[1] as? String { #expect(d == Double(shown.replacingOccurrences(of: "inf", with: "infinity")), "\(text)") }
            case ("string", .string(let s)): #expect(s == pair[1] as? String, "\(text)")
            default: Issue.record("'\(text)': PyYAML reads \(kind), ours \(ours)")
            }
        }
    }

    @Test func fieldTypesConvertAsTheOriginalsSchemaDoes() {
        #expect(Marshmallow.boolean(.int(1)) == true)
        #expect(Marshmallow.boolean(.string("Yes")) == true)
        #expect(Marshmallow.boolean(.string("maybe")) == nil)
        #expect(Marshmallow.boolean(.int(2)) == nil)
        #expect(Marshmallow.integer(.float(1.5)) == 1)
        #expect(Marshmallow.integer(.string(" 12 ")) == 12)
        #expect(Marshmallow.integer(.string("1_000")) == 1000)
        #expect(Marshmallow.integer(.string("1.5")) == nil)
        #expect(Marshmallow.integer(.bool(true)) == nil)
        #expect(Marshmallow.string(.int(123)) == nil)
        #expect(Marshmallow.number(.string("2.5")) == 2.5)
    }
}
