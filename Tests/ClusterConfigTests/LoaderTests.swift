import ClusterConfig
import Foundation
import Testing

@Suite("Reading config files: every bad input gets one clear, positioned error")
struct LoaderTests {
    func fileError(_ text: String) -> ConfigFileError? {
        do {
            _ = try ConfigLoader.parse(text: text, file: "t.yaml", environment: [:])
            return nil
        } catch let e as ConfigFileError {
            return e
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    @Test func tabIndentationIsReportedAtItsColumn() throws {
        let e = try #require(fileError("Image:\n\tOs: alinux2023\n"))
        #expect(e.location?.line == 2)
        #expect(e.location?.column == 1)
        #expect(e.reason.contains("tab"))
    }

    @Test func duplicateKeysAreRejected() throws {
        let e = try #require(fileError("Region: us-east-1\nRegion: us-west-2\n"))
        #expect(e.reason.contains("duplicate key 'Region'"))
        #expect(e.location != nil)
    }

    @Test func aliasBombIsRefusedQuickly() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let started = Date()
        let e = try #require(fileError(yaml))
        #expect(e.reason.contains("alias"))
        #expect(Date().timeIntervalSince(started) < 10)  // a guard against expansion, not a benchmark
    }

    @Test func absurdNestingIsAnErrorNotAStackOverflow() throws {
        let e = try #require(fileError("a: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)))
        #expect(e.reason.contains("nests deeper"))
        #expect(e.location?.line == 1)
    }

    @Test func emptyFileSaysWhatIsNeeded() throws {
        let e = try #require(fileError(""))
        #expect(e.reason.contains("empty"))
        let comments = try #require(fileError("# only a comment\n"))
        #expect(comments.reason.contains("empty"))
    }

    @Test func scalarTopLevelIsRejected() throws {
        let e = try #require(fileError("just a string\n"))
        #expect(e.reason.contains("top level must be a mapping"))
        let list = try #require(fileError("- a\n- b\n"))
        #expect(list.reason.contains("found a list"))
    }

    @Test func unterminatedQuoteIsPositioned() throws {
        let e = try #require(fileError("Region: \"us-east-1\nImage:\n  Os: x\n"))
        #expect(e.reason.hasPrefix("invalid YAML"))
        #expect(e.location != nil)
    }

    @Test func binaryGarbageIsNotParsed() throws {
        var bytes = Data("Region: us-east-1\n".utf8)
        bytes.append(contentsOf: [0x00, 0xFF, 0xFE, 0x12, 0x00])
        #expect(throws: ConfigFileError.self) { try ConfigLoader.parse(data: bytes, file: "b", environment: [:]) }
        let invalidUTF8 = Data([0x52, 0x3A, 0x20, 0xC3, 0x28, 0x0A])
        do {
            _ = try ConfigLoader.parse(data: invalidUTF8, file: "b", environment: [:])
            Issue.record("invalid UTF-8 was accepted")
        } catch let e as ConfigFileError {
            #expect(e.reason.contains("UTF-8"))
        }
    }

    @Test func directoryMissingAndHugeFiles() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try ConfigLoader.read(path: dir.path, environment: [:])
            Issue.record("a directory was read")
        } catch let e as ConfigFileError { #expect(e.reason.contains("is a directory")) }

        do {
            _ = try ConfigLoader.read(path: dir.appendingPathComponent("nope.yaml").path, environment: [:])
            Issue.record("a missing file was read")
        } catch let e as ConfigFileError { #expect(e.reason.contains("no such file")) }

        let big = dir.appendingPathComponent("big.yaml")
        FileManager.default.createFile(atPath: big.path, contents: nil)
        let h = try FileHandle(forWritingTo: big)
        try h.truncate(atOffset: 50_000_000)
        try h.close()
        do {
            _ = try ConfigLoader.read(path: big.path, environment: [:])
            Issue.record("a 50 MB file was read")
        } catch let e as ConfigFileError { #expect(e.reason.contains("50.0 MB")) }
    }

    @Test func variablesExpandInBothForms() throws {
        let (doc, findings) = try ConfigLoader.parse(text: "A: $X\nB: \"${X}-suffix\"\nC: cost$$5\n", file: "t", environment: ["X": "v"])
        #expect(findings.isEmpty)
        #expect(doc.root["A"]?.string == "v")
        #expect(doc.root["B"]?.string == "v-suffix")
        #expect(doc.root["C"]?.string == "cost$5")
    }

    @Test func unsetVariableIsAnErrorAtItsColumn() throws {
        let (_, findings) = try ConfigLoader.parse(text: "HeadNode:\n  SubnetId: pre-$MISSING\n", file: "t", environment: [:])
        let f = try #require(findings.first)
        #expect(f.level == .error)
        #expect(f.message.contains("$MISSING is not set"))
        #expect(f.location?.line == 2)
        #expect(f.location?.column == 17)
    }
}
