import ClusterConfig
import Foundation
import TestSupport
import Testing

/// Property-style: random edits of valid configs (10,000 a run: four seeds of 2,500) never crash the loader, and every rejection is
/// either one positioned file error or findings that all carry a position inside the file.
@Suite("Random mutations of valid configs")
struct MutationTests {
    static let fragments = [
        "", " ", ":", "- ", "\t", "{", "}", "[", "]", "&a", "*a", "!!int", "'", "\"", "#", "|", ">",
        "null", "true", "-1", "99999999999999999999", "0x1F", "ü", "\u{0}", "$UNSET", "${", "MaxCont",
        "  - Name: x", "Efa:", "  Enabled: maybe",
    ]

    func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var lines = text.components(separatedBy: "\n")
        let edits = Int.random(in: 1...3, using: &rng)
        for _ in 0..<edits where !lines.isEmpty {
            let i = Int.random(in: 0..<lines.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines[i] = " " + lines[i]
            case 3: lines[i] = String(lines[i].dropFirst(min(2, lines[i].count)))
            case 4:
                var chars = Array(lines[i])
                if !chars.isEmpty {
                    let p = Int.random(in: 0..<chars.count, using: &rng)
                    chars.insert(contentsOf: Self.fragments.randomElement(using: &rng)!, at: p)
                }
                lines[i] = String(chars)
            case 5:
                if let colon = lines[i].firstIndex(of: ":") {
                    lines[i] = String(lines[i][...colon]) + " " + Self.fragments.randomElement(using: &rng)!
                }
            default:
                lines.swapAt(i, Int.random(in: 0..<lines.count, using: &rng))
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: [1, 2, 3, 4])
    func mutatedConfigsNeverCrashAndAlwaysPointIntoTheFile(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &* 7919)
        let bases = [Fixtures.minimal, Fixtures.exampleConfigText]
        for round in 0..<2500 {
            let base = bases[round % bases.count]
            let text = mutate(base, &rng)
            let lineCount = text.components(separatedBy: "\n").count
            do {
                let r = try Fixtures.validate(text)
                for m in r.messages where m.level == .error {
                    let loc = try #require(m.location, "seed \(seed) round \(round): unpositioned \(m)")
                    #expect(loc.line >= 1 && loc.line <= lineCount + 1, "seed \(seed) round \(round): \(m)")
                    #expect(loc.column >= 1)
                }
            } catch let e as ConfigFileError {
                #expect(!e.reason.isEmpty)
                if let loc = e.location { #expect(loc.line >= 1 && loc.line <= lineCount + 1, "seed \(seed) round \(round): \(e)") }
            }
        }
    }
}
