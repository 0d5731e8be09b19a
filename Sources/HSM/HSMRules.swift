/// What an HSM request needs to know about the file besides its flags.
package struct HSMFileFacts: Sendable, Hashable {
    package var isRegularFile: Bool
    /// Opens by processes other than the one asking (release refuses with EBUSY while there are any).
    package var otherOpens: Int
    /// Whether the archived copy (key, ETag, size, mtime) still matches the local data.
    package var archiveMatchesData: Bool

    package init(isRegularFile: Bool = true, otherOpens: Int = 0, archiveMatchesData: Bool = true) {
        self.isRegularFile = isRegularFile
        self.otherOpens = otherOpens
        self.archiveMatchesData = archiveMatchesData
    }
}

/// What a request leads to: a new state, and whether data must move to or from the archive.
package struct HSMOutcome: Sendable, Hashable {
    package enum DataMovement: Sendable, Hashable { case none, copyToArchive, copyFromArchive, dropLocalData, deleteArchiveCopy }
    package var state: HSMState
    package var movement: DataMovement
}

/// Lustre's HSM rules as pure functions (../shared/reference/fsx-dra-hsm.md), so every transition and error
/// is tested without a file system. The file system core applies an outcome only after its data movement
/// has succeeded, so a failure never leaves a state that lies about where the data is.
package enum HSMRules {
    /// `hsm_archive`: copies the file to the archive when it is dirty or not yet archived.
    package static func archive(_ state: HSMState, _ facts: HSMFileFacts, archiveId: UInt32 = 1) throws(HSMError) -> HSMOutcome {
        guard facts.isRegularFile else { throw .invalid("only regular files are archived") }
        if state.flags.contains(.noArchive) { throw .notPermitted("the file is marked never_archive") }
        let needsCopy = state.flags.contains(.dirty) || !state.flags.contains(.archived) || state.flags.contains(.lost)
        guard needsCopy else { return HSMOutcome(state: state, movement: .none) }
        guard !state.flags.contains(.released) else {
            // A released file's data is only in the archive; there is nothing newer to copy.
            throw .notPermitted("a released file has no local data to archive")
        }
        var next = state
        next.flags.formUnion([.exists, .archived])
        next.flags.subtract([.dirty, .lost])
        next.archiveId = state.archiveId == 0 ? archiveId : state.archiveId
        return HSMOutcome(state: next, movement: .copyToArchive)
    }

    /// `hsm_release`: drops the local data of a file whose archived copy is current.
    package static func release(_ state: HSMState, _ facts: HSMFileFacts) throws(HSMError) -> HSMOutcome {
        guard facts.isRegularFile else { throw .invalid("only regular files are released") }
        if state.flags.contains(.released) { return HSMOutcome(state: state, movement: .none) }
        // ARCHIVED without EXISTS (possible through hsm_clear) says the copy is gone: not releasable.
        guard state.flags.isSuperset(of: [.archived, .exists]) else { throw .notPermitted("the file is not archived") }
        if state.flags.contains(.dirty) { throw .notPermitted("the file changed since it was archived (dirty)") }
        if state.flags.contains(.noRelease) { throw .notPermitted("the file is marked never_release") }
        if state.flags.contains(.lost) { throw .notPermitted("the archived copy is lost") }
        guard facts.archiveMatchesData else { throw .notPermitted("the archived copy does not match the file's data") }
        guard facts.otherOpens == 0 else { throw .busy }
        var next = state
        next.flags.insert(.released)
        return HSMOutcome(state: next, movement: .dropLocalData)
    }

    /// `hsm_restore` (and the implicit restore of a first read): brings a released file's data back.
    /// A file that is not released has nothing to restore.
    package static func restore(_ state: HSMState, _ facts: HSMFileFacts) throws(HSMError) -> HSMOutcome {
        guard facts.isRegularFile else { throw .invalid("only regular files are restored") }
        guard state.flags.contains(.released) else { return HSMOutcome(state: state, movement: .none) }
        guard state.flags.contains(.archived) else { throw .notPermitted("the file is released but not archived") }
        if state.flags.contains(.dirty) { throw .notPermitted("the file is marked dirty") }
        if state.flags.contains(.lost) { throw .notPermitted("the archived copy is lost") }
        var next = state
        next.flags.remove(.released)
        return HSMOutcome(state: next, movement: .copyFromArchive)
    }

    /// `hsm_remove`: deletes the archived copy of a file whose data is local.
    package static func remove(_ state: HSMState, _ facts: HSMFileFacts) throws(HSMError) -> HSMOutcome {
        guard facts.isRegularFile else { throw .invalid("only regular files have archived copies") }
        if state.flags.contains(.released) { throw .notPermitted("the file is released: its only data is the archived copy") }
        guard state.flags.contains(.archived) || state.flags.contains(.exists) else {
            return HSMOutcome(state: state, movement: .none)
        }
        var next = state
        next.flags.subtract([.archived, .exists, .lost])
        return HSMOutcome(state: next, movement: .deleteArchiveCopy)
    }

    /// `hsm_set` / `hsm_clear`: flags change directly (an administrator's tool); RELEASED cannot be set or
    /// cleared this way, and a released file must stay archived and existing.
    package static func set(
        _ state: HSMState, setting: HSMFlags, clearing: HSMFlags, archiveId: UInt32? = nil,
        _ facts: HSMFileFacts
    ) throws(HSMError) -> HSMState {
        guard facts.isRegularFile else { throw .invalid("HSM flags apply to regular files only") }
        let requested = setting.union(clearing)
        guard requested.isSubset(of: .userSettable) else { throw .invalid("released changes only through hsm_release and hsm_restore") }
        guard setting.intersection(clearing).isEmpty else { throw .invalid("a flag cannot be set and cleared at once") }
        var next = state
        next.flags.formUnion(setting)
        // An archived, dirty or lost file has a copy in the archive, so it exists there.
        if !setting.intersection([.archived, .dirty, .lost]).isEmpty { next.flags.insert(.exists) }
        next.flags.subtract(clearing)
        if next.flags.contains(.released) && !next.flags.isSuperset(of: [.archived, .exists]) {
            throw .invalid("a released file must stay archived and existing")
        }
        if let archiveId { next.archiveId = archiveId }
        return next
    }

    /// A write, truncate, append or O_TRUNC open that changed data: a file with an archived copy becomes
    /// dirty; a file never archived stays as it is. Released files must be restored before they are written.
    package static func dataChanged(_ state: HSMState) throws(HSMError) -> HSMState {
        if state.flags.contains(.released) { throw .notPermitted("restore a released file before writing it") }
        var next = state
        if next.flags.contains(.exists) { next.flags.insert(.dirty) }
        return next
    }
}

/// `lfs hsm_action`: what is running on a file now.
package enum HSMAction: Sendable, Hashable {
    case noop
    case archive(bytesMoved: Int64)
    case restore(bytesMoved: Int64)
    case remove(bytesMoved: Int64)
    /// An archive queued and not running: waiting for its turn, or for the repository to answer again after a
    /// failed attempt (Lustre's "waiting" state of a request).
    case archiveWaiting

    package func line(for path: String) -> String {
        switch self {
        case .noop: return "\(path): NOOP"
        case .archiveWaiting: return "\(path): ARCHIVE waiting (0 bytes moved)"
        case .archive(let bytes): return "\(path): ARCHIVE running (\(bytes) bytes moved)"
        case .restore(let bytes): return "\(path): RESTORE running (\(bytes) bytes moved)"
        case .remove(let bytes): return "\(path): REMOVE running (\(bytes) bytes moved)"
        }
    }
}
