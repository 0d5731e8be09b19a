/// Lustre's HSM flags (lustre_user.h's `hsm_states`), bit for bit.
package struct HSMFlags: OptionSet, Sendable, Hashable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    package static let exists = HSMFlags(rawValue: 0x01)
    package static let dirty = HSMFlags(rawValue: 0x02)
    package static let released = HSMFlags(rawValue: 0x04)
    package static let archived = HSMFlags(rawValue: 0x08)
    package static let noRelease = HSMFlags(rawValue: 0x10)
    package static let noArchive = HSMFlags(rawValue: 0x20)
    package static let lost = HSMFlags(rawValue: 0x40)

    /// What `hsm_set` / `hsm_clear` may change (RELEASED only changes through release and restore).
    package static let userSettable: HSMFlags = [.exists, .dirty, .archived, .noRelease, .noArchive, .lost]
}

/// A file's HSM state: its flags and the archive (data repository) it belongs to.
package struct HSMState: Sendable, Hashable {
    package var flags: HSMFlags
    package var archiveId: UInt32

    package init(flags: HSMFlags = [], archiveId: UInt32 = 0) {
        self.flags = flags
        self.archiveId = archiveId
    }

    /// A file imported from the data repository: names and attributes here, data still in S3.
    package static func imported(archiveId: UInt32 = 1) -> HSMState {
        HSMState(flags: [.exists, .archived, .released], archiveId: archiveId)
    }

    /// A file whose data and metadata were just exported (or restored): a clean copy on both sides.
    package static func archived(archiveId: UInt32 = 1) -> HSMState {
        HSMState(flags: [.exists, .archived], archiveId: archiveId)
    }

    /// `lfs hsm_state`'s line: `FILE: (0x%08x)` then the set flags in Lustre's order, then
    /// `, archive_id:N` when N is not zero.
    package func line(for path: String) -> String {
        var text = "\(path): (0x\(Self.hex8(flags.rawValue)))"
        let names: [(HSMFlags, String)] = [
            (.released, "released"), (.exists, "exists"), (.dirty, "dirty"), (.archived, "archived"),
            (.noRelease, "never_release"), (.noArchive, "never_archive"), (.lost, "lost_from_hsm"),
        ]
        for (flag, name) in names where flags.contains(flag) { text += " \(name)" }
        if archiveId != 0 { text += ", archive_id:\(archiveId)" }
        return text
    }

    static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// Why an HSM request is refused, as Lustre's errno.
package enum HSMError: Error, Sendable, Hashable, CustomStringConvertible {
    /// EPERM: the state does not allow it (the message says which rule).
    case notPermitted(String)
    /// EBUSY: another process holds the file open.
    case busy
    /// EINVAL: not a regular file, or a flag combination Lustre rejects.
    case invalid(String)

    package var errno: Int32 {
        switch self {
        case .notPermitted: return 1
        case .busy: return 16
        case .invalid: return 22
        }
    }

    /// strerror's text, which `lfs` prints.
    package var systemMessage: String {
        switch self {
        case .notPermitted: return "Operation not permitted"
        case .busy: return "Device or resource busy"
        case .invalid: return "Invalid argument"
        }
    }

    package var description: String {
        switch self {
        case .notPermitted(let why): return "\(systemMessage): \(why)"
        case .busy: return "\(systemMessage): the file is open elsewhere"
        case .invalid(let why): return "\(systemMessage): \(why)"
        }
    }
}
