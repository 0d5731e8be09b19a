import HSM

/// How `lfs` reaches the file system: virtual extended attributes on the file itself, so the kernel checks
/// access as for any file operation and no socket or daemon address is needed. They are not listed by
/// listxattr, so copying tools never see them. The mount (LustreMount) answers them and `lfs` asks; both use
/// the names and value formats here, so neither side can drift from the other.
package enum LfsAttribute {
    /// get: `LfsValue.state`.
    package static let state = "user.lfs.hsm_state"
    /// get: `LfsValue.action`.
    package static let action = "user.lfs.hsm_action"
    /// get, on any inode: `LfsValue.Space`.
    package static let df = "user.lfs.df"
    /// set: `LfsRequest`.
    package static let request = "user.lfs.hsm_request"
    /// The prefix of every virtual attribute (none of them can be set except `request`).
    package static let prefix = "user.lfs."
}

/// The attribute values, as text.
package enum LfsValue {
    /// "<flags> <archive id>" in decimal.
    package static func encode(_ state: HSMState) -> String { "\(state.flags.rawValue) \(state.archiveId)" }

    package static func state(_ text: String) -> HSMState {
        let parts = text.split(separator: " ")
        return HSMState(
            flags: HSMFlags(rawValue: UInt32(parts.first ?? "0") ?? 0),
            archiveId: UInt32(parts.count > 1 ? parts[1] : "0") ?? 0)
    }

    /// "NOOP" or "<ACTION> <bytes moved>".
    package static func encode(_ action: HSMAction) -> String {
        switch action {
        case .noop: "NOOP"
        case .archive(let bytes): "ARCHIVE \(bytes)"
        case .restore(let bytes): "RESTORE \(bytes)"
        case .remove(let bytes): "REMOVE \(bytes)"
        case .archiveWaiting: "ARCHIVE_WAITING 0"
        }
    }

    package static func action(_ text: String) -> HSMAction {
        let parts = text.split(separator: " ")
        let bytes = Int64(parts.count > 1 ? parts[1] : "0") ?? 0
        switch parts.first {
        case "ARCHIVE": return .archive(bytesMoved: bytes)
        case "RESTORE": return .restore(bytesMoved: bytes)
        case "REMOVE": return .remove(bytesMoved: bytes)
        case "ARCHIVE_WAITING": return .archiveWaiting
        default: return .noop
        }
    }

    /// Space and inodes for `lfs df`: "<capacity bytes> <used bytes> <inodes> <free inodes>".
    package struct Space: Sendable, Equatable {
        package var capacityBytes: Int64
        package var usedBytes: Int64
        package var inodes: Int64
        package var freeInodes: Int64

        package init(capacityBytes: Int64, usedBytes: Int64, inodes: Int64, freeInodes: Int64) {
            self.capacityBytes = capacityBytes
            self.usedBytes = usedBytes
            self.inodes = inodes
            self.freeInodes = freeInodes
        }

        package var encoded: String { "\(capacityBytes) \(usedBytes) \(inodes) \(freeInodes)" }

        package init?(_ text: String) {
            let numbers = text.split(separator: " ").compactMap { Int64($0) }
            guard numbers.count == 4 else { return nil }
            self.init(capacityBytes: numbers[0], usedBytes: numbers[1], inodes: numbers[2], freeInodes: numbers[3])
        }
    }
}

/// What `lfs` asks the mount to do through `LfsAttribute.request`.
package enum LfsRequest: Sendable, Equatable {
    case archive, release, restore, remove
    case set(setting: HSMFlags, clearing: HSMFlags, archiveId: UInt32?)

    /// "archive", "release", "restore", "remove", or "set <flags to set> <flags to clear> [archive id]" (decimal).
    package var encoded: String {
        switch self {
        case .archive: "archive"
        case .release: "release"
        case .restore: "restore"
        case .remove: "remove"
        case .set(let setting, let clearing, let archiveId):
            "set \(setting.rawValue) \(clearing.rawValue)" + (archiveId.map { " \($0)" } ?? "")
        }
    }

    /// nil for text that is no request (a `set` without its two flag words is none).
    package init?(_ text: String) {
        let words = text.split(separator: " ").map(String.init)
        switch words.first {
        case "archive": self = .archive
        case "release": self = .release
        case "restore": self = .restore
        case "remove": self = .remove
        case "set":
            guard (3...4).contains(words.count), let setting = UInt32(words[1]), let clearing = UInt32(words[2]) else { return nil }
            var archiveId: UInt32?
            if words.count == 4 {
                guard let id = UInt32(words[3]) else { return nil }
                archiveId = id
            }
            self = .set(setting: HSMFlags(rawValue: setting), clearing: HSMFlags(rawValue: clearing), archiveId: archiveId)
        default: return nil
        }
    }
}
