/// Open handles and the open files they refer to: each file's descriptor on its local data, the size and
/// mtime of writes not yet in the MDT, and what its last close must do. `OpenFiles.swift` holds the
/// operations; the file system keeps these `Entries` behind a lock of their own (`openTable`).
enum OpenFileTable {
    struct OpenFile {
        var fd: Int32
        var opens = 0
        var writers = 0
        /// Size and mtime of writes not yet in the MDT (written back on flush and close).
        var size: Int64
        var mtime: Int64?
        /// Whether this write session already bumped the data version (reset when an export snapshots it).
        var versionBumped = false
        /// Written or created since the last close, so the last close queues an export.
        var changed = false
        /// `size` or `mtime` differ from the MDT's: the next flush or close writes them back. A file only
        /// created (mdtest's empty files, `touch`) has nothing to write back, so its close costs no MDT write.
        var unwritten = false
        /// Descriptors of local data replaced by a newer object, closed with the file's last handle.
        var retired: [Int32] = []
    }

    struct Handle {
        var ino: InodeNumber
        var writable: Bool
    }

    struct Entries {
        var handles: [HandleID: Handle] = [:]
        var nextHandle: HandleID = 1
        var openFiles: [InodeNumber: OpenFile] = [:]
    }
}

/// The file system's own long-running work: the export worker, sweeps and association work (`background`)
/// and one auto-import event feed per association (`feeds`). `close` marks it closed and cancels them all.
struct BackgroundTasks {
    var background: [Task<Void, Never>] = []
    var feeds: [String: Task<Void, Never>] = [:]
    var closed = false
}
