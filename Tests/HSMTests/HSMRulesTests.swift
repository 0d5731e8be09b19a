import HSM
import Testing

/// Every HSM transition and error of the reference (fsx-dra-hsm.md), as a table, plus invariants checked
/// over all 128 flag combinations.
@Suite struct HSMRulesTests {
    typealias F = HSMFlags
    static let regular = HSMFileFacts()
    static let opened = HSMFileFacts(otherOpens: 1)
    static let stale = HSMFileFacts(archiveMatchesData: false)
    static let directory = HSMFileFacts(isRegularFile: false)

    @Test func statesPrintExactlyAsLfs() {
        #expect(HSMState.imported().line(for: "f") == "f: (0x0000000d) released exists archived, archive_id:1")
        #expect(HSMState.archived().line(for: "f") == "f: (0x00000009) exists archived, archive_id:1")
        #expect(HSMState().line(for: "f") == "f: (0x00000000)")
        let everything = HSMState(flags: [.exists, .dirty, .released, .archived, .noRelease, .noArchive, .lost], archiveId: 3)
        #expect(
            everything.line(for: "/fsx/a b")
                == "/fsx/a b: (0x0000007f) released exists dirty archived never_release never_archive lost_from_hsm, archive_id:3")
        #expect(HSMState(flags: [.exists, .dirty, .archived], archiveId: 1).line(for: "f") == "f: (0x0000000b) exists dirty archived, archive_id:1")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        enum Request: Sendable { case archive, release, restore, remove }
        var request: Request
        var flags: F
        var facts: HSMFileFacts = HSMRulesTests.regular
        var expected: Result<F, HSMError>
        var movement: HSMOutcome.DataMovement = .none
        var testDescription: String { "\(request) on 0x\(String(flags.rawValue, radix: 16))" }
    }

    static let cases: [Case] = [
        // Archive: when dirty or not yet archived; sets ARCHIVED (and EXISTS), clears DIRTY and LOST.
        Case(request: .archive, flags: [], expected: .success([.exists, .archived]), movement: .copyToArchive),
        Case(request: .archive, flags: [.exists, .dirty, .archived], expected: .success([.exists, .archived]), movement: .copyToArchive),
        Case(request: .archive, flags: [.exists, .archived, .lost], expected: .success([.exists, .archived]), movement: .copyToArchive),
        Case(request: .archive, flags: [.exists, .archived], expected: .success([.exists, .archived])),
        Case(request: .archive, flags: [.noArchive], expected: .failure(.notPermitted("the file is marked never_archive"))),
        Case(request: .archive, flags: [.exists, .archived, .released], expected: .success([.exists, .archived, .released])),
        Case(request: .archive, flags: [], facts: directory, expected: .failure(.invalid("only regular files are archived"))),
        // Release: needs ARCHIVED and none of DIRTY, NORELEASE, LOST; a current copy; nobody else holding it.
        Case(request: .release, flags: [.exists, .archived], expected: .success([.exists, .archived, .released]), movement: .dropLocalData),
        Case(request: .release, flags: [.exists, .archived, .released], expected: .success([.exists, .archived, .released])),
        Case(request: .release, flags: [], expected: .failure(.notPermitted("the file is not archived"))),
        Case(
            request: .release, flags: [.exists, .dirty, .archived],
            expected: .failure(.notPermitted("the file changed since it was archived (dirty)"))),
        Case(request: .release, flags: [.exists, .archived, .noRelease], expected: .failure(.notPermitted("the file is marked never_release"))),
        Case(request: .release, flags: [.exists, .archived, .lost], expected: .failure(.notPermitted("the archived copy is lost"))),
        Case(
            request: .release, flags: [.exists, .archived], facts: stale,
            expected: .failure(.notPermitted("the archived copy does not match the file's data"))),
        Case(request: .release, flags: [.exists, .archived], facts: opened, expected: .failure(.busy)),
        Case(request: .release, flags: [.exists, .archived], facts: directory, expected: .failure(.invalid("only regular files are released"))),
        // Restore: needs RELEASED and ARCHIVED, not DIRTY or LOST; a file with its data has nothing to restore.
        Case(request: .restore, flags: [.exists, .archived, .released], expected: .success([.exists, .archived]), movement: .copyFromArchive),
        Case(request: .restore, flags: [.exists, .archived], expected: .success([.exists, .archived])),
        Case(request: .restore, flags: [.exists, .released], expected: .failure(.notPermitted("the file is released but not archived"))),
        Case(request: .restore, flags: [.exists, .archived, .released, .dirty], expected: .failure(.notPermitted("the file is marked dirty"))),
        Case(request: .restore, flags: [.exists, .archived, .released, .lost], expected: .failure(.notPermitted("the archived copy is lost"))),
        // Remove: needs ARCHIVED or EXISTS and a file that is not released; clears ARCHIVED, EXISTS and LOST.
        Case(request: .remove, flags: [.exists, .archived], expected: .success([]), movement: .deleteArchiveCopy),
        Case(request: .remove, flags: [.exists, .archived, .lost, .noRelease], expected: .success([.noRelease]), movement: .deleteArchiveCopy),
        Case(request: .remove, flags: [.exists], expected: .success([]), movement: .deleteArchiveCopy),
        Case(request: .remove, flags: [], expected: .success([])),
        Case(
            request: .remove, flags: [.exists, .archived, .released],
            expected: .failure(.notPermitted("the file is released: its only data is the archived copy"))),
    ]

    static func apply(_ request: Case.Request, _ state: HSMState, _ facts: HSMFileFacts) throws(HSMError) -> HSMOutcome {
        switch request {
        case .archive: return try HSMRules.archive(state, facts)
        case .release: return try HSMRules.release(state, facts)
        case .restore: return try HSMRules.restore(state, facts)
        case .remove: return try HSMRules.remove(state, facts)
        }
    }

    @Test(arguments: cases)
    func transition(_ item: Case) {
        let state = HSMState(flags: item.flags, archiveId: item.flags.isEmpty ? 0 : 1)
        do {
            let outcome = try Self.apply(item.request, state, item.facts)
            guard case .success(let flags) = item.expected else {
                Issue.record("expected \(item.expected), got \(outcome)")
                return
            }
            #expect(outcome.state.flags == flags)
            #expect(outcome.movement == item.movement)
        } catch {
            #expect(item.expected == .failure(error))
        }
    }

    @Test func errnosAreLustres() {
        #expect(HSMError.notPermitted("x").errno == 1 && HSMError.notPermitted("x").systemMessage == "Operation not permitted")
        #expect(HSMError.busy.errno == 16 && HSMError.busy.systemMessage == "Device or resource busy")
        #expect(HSMError.invalid("x").errno == 22)
    }

    @Test func theSeedsSequence() throws {
        // Imported → read (restore) → written (dirty) → archived (export) → released again.
        var state = HSMState.imported()
        state = try HSMRules.restore(state, Self.regular).state
        #expect(state.line(for: "f") == "f: (0x00000009) exists archived, archive_id:1")
        state = try HSMRules.dataChanged(state)
        #expect(state.line(for: "f") == "f: (0x0000000b) exists dirty archived, archive_id:1")
        #expect(throws: HSMError.self) { try HSMRules.release(state, Self.regular) }
        state = try HSMRules.archive(state, Self.regular).state
        state = try HSMRules.release(state, Self.regular).state
        #expect(state == .imported())
        // A new file stays 0x0 through writes until its first archive.
        #expect(try HSMRules.dataChanged(HSMState()) == HSMState())
        #expect(throws: HSMError.self) { try HSMRules.dataChanged(.imported()) }
    }

    @Test func setAndClear() throws {
        let plain = HSMState()
        #expect(try HSMRules.set(plain, setting: [.noRelease], clearing: [], Self.regular).flags == [.noRelease])
        #expect(
            try HSMRules.set(plain, setting: [.archived], clearing: [], archiveId: 2, Self.regular)
                == HSMState(flags: [.exists, .archived], archiveId: 2))
        #expect(
            try HSMRules.set(.archived(), setting: [.dirty, .noArchive], clearing: [], Self.regular).flags == [
                .exists, .archived, .dirty, .noArchive,
            ])
        #expect(try HSMRules.set(.archived(), setting: [], clearing: [.archived], Self.regular).flags == [.exists])
        #expect(throws: HSMError.invalid("released changes only through hsm_release and hsm_restore")) {
            try HSMRules.set(plain, setting: [.released], clearing: [], Self.regular)
        }
        #expect(throws: HSMError.invalid("a released file must stay archived and existing")) {
            try HSMRules.set(.imported(), setting: [], clearing: [.archived], Self.regular)
        }
        #expect(throws: HSMError.invalid("a flag cannot be set and cleared at once")) {
            try HSMRules.set(plain, setting: [.dirty], clearing: [.dirty], Self.regular)
        }
        #expect(throws: HSMError.self) { try HSMRules.set(plain, setting: [.dirty], clearing: [], Self.directory) }
    }

    /// Over every valid flag combination (a released file is archived and exists): no request leads to an
    /// invalid one, and every data movement matches the change of state it claims.
    @Test func invariantsHoldForEveryFlagCombination() {
        for raw in UInt32(0)..<128 {
            let state = HSMState(flags: F(rawValue: raw), archiveId: 1)
            if state.flags.contains(.released) && !state.flags.isSuperset(of: [.archived, .exists]) { continue }
            for request in [Case.Request.archive, .release, .restore, .remove] {
                for facts in [Self.regular, Self.opened, Self.stale] {
                    guard let outcome = try? Self.apply(request, state, facts) else { continue }
                    let flags = outcome.state.flags
                    if flags.contains(.released) { #expect(flags.isSuperset(of: [.archived, .exists]), "\(request) 0x\(String(raw, radix: 16))") }
                    switch outcome.movement {
                    case .copyToArchive: #expect(flags.contains(.archived) && !flags.contains(.dirty) && !flags.contains(.lost))
                    case .dropLocalData: #expect(flags.contains(.released) && !state.flags.contains(.released))
                    case .copyFromArchive: #expect(!flags.contains(.released) && state.flags.contains(.released))
                    case .deleteArchiveCopy: #expect(!flags.contains(.archived) && !flags.contains(.exists))
                    case .none: #expect(flags == state.flags)
                    }
                }
            }
        }
    }

    @Test func actionsPrintAsLfs() {
        #expect(HSMAction.noop.line(for: "f") == "f: NOOP")
        #expect(HSMAction.restore(bytesMoved: 4096).line(for: "/fsx/f") == "/fsx/f: RESTORE running (4096 bytes moved)")
        #expect(HSMAction.archive(bytesMoved: 0).line(for: "f") == "f: ARCHIVE running (0 bytes moved)")
        #expect(HSMAction.archiveWaiting.line(for: "f") == "f: ARCHIVE waiting (0 bytes moved)")
    }
}
