import Foundation
import GRDB
import HSM
import Synchronization

package typealias InodeNumber = Int64

/// The kind of a namespace entry, with the st_mode type bits it reports.
package enum FileType: Int, Codable, Sendable, Hashable, DatabaseValueConvertible {
    case regular = 0o100000
    case directory = 0o040000
    case symlink = 0o120000
    case fifo = 0o010000
    case characterDevice = 0o020000
    case blockDevice = 0o060000
    case socket = 0o140000

    /// The type of a mode's S_IFMT bits; nil for bits that name none.
    package init?(mode: UInt32) { self.init(rawValue: Int(mode & 0o170000)) }

    /// FIFOs, devices and sockets: they live in the file system only. FSx exports files, directories and
    /// symbolic links, and says nothing of the others, so they are never exported or imported.
    package var isSpecial: Bool {
        switch self {
        case .fifo, .characterDevice, .blockDevice, .socket: true
        case .regular, .directory, .symlink: false
        }
    }

    package var name: String {
        switch self {
        case .regular: "regular file"
        case .directory: "directory"
        case .symlink: "symbolic link"
        case .fifo: "FIFO"
        case .characterDevice: "character device"
        case .blockDevice: "block device"
        case .socket: "socket"
        }
    }
}

/// One inode of the MDT: POSIX attributes, the HSM state, and what was last archived, so the file system
/// always knows whether the local data, the repository's copy, or both are current.
package struct Inode: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    package static let databaseTableName = "inode"

    package var ino: InodeNumber
    package var type: FileType
    /// Permission bits (07777).
    package var perm: UInt32
    package var uid: UInt32
    package var gid: UInt32
    package var size: Int64
    /// Nanoseconds since the epoch.
    package var atime: Int64
    package var mtime: Int64
    package var ctime: Int64
    package var nlink: Int
    /// A symlink's target.
    package var target: String?
    /// A device's number (st_rdev); 0 for every other type.
    package var rdev: UInt64
    package var hsmFlags: UInt32
    package var archiveId: UInt32
    /// Bumped by every change to the data; the archived copy is current when `archivedDataVersion` equals it.
    package var dataVersion: Int64
    /// Bumped by every change to exported attributes (mode, owner, times).
    package var metaVersion: Int64
    /// The repository key, ETag and versions of the last successful export or import.
    package var archivedKey: String?
    package var archivedEtag: String?
    package var archivedDataVersion: Int64?
    package var archivedMetaVersion: Int64?
    /// When the archived copy was written or imported (ns), so a sweep never deletes what it could not have seen.
    package var archivedAt: Int64?
    /// Imported from a listing; the POSIX attributes arrive with the object's HeadObject.
    package var attributesPending: Bool

    package var hsm: HSMState {
        get { HSMState(flags: HSMFlags(rawValue: hsmFlags), archiveId: archiveId) }
        set { hsmFlags = newValue.flags.rawValue; archiveId = newValue.archiveId }
    }

    /// The inode table's columns in table order (`rdev` was added last), as `SELECT *` and `inode.*` give them.
    static let columns = [
        "ino", "type", "perm", "uid", "gid", "size", "atime", "mtime", "ctime", "nlink", "target", "hsmFlags",
        "archiveId", "dataVersion", "metaVersion", "archivedKey", "archivedEtag", "archivedDataVersion",
        "archivedMetaVersion", "archivedAt", "attributesPending", "rdev",
    ]

    /// Decoded by position from the `ino` column on, not through Codable: every lookup, stat and listing
    /// decodes inodes, and Codable looks up each column by name (case-insensitively) through a decoder.
    package init(row: Row) throws {
        // Our queries select `*` or `inode.*` last; anything else decodes by name.
        let base = row.count - Self.columns.count
        guard base >= 0, row.columnNames[row.index(row.startIndex, offsetBy: base)] == "ino",
            row.columnNames[row.index(before: row.endIndex)] == "rdev"
        else {
            self = try FetchableRecordDecoder().decode(Inode.self, from: row)
            return
        }
        ino = row[base]
        type = row[base + 1]
        perm = row[base + 2]
        uid = row[base + 3]
        gid = row[base + 4]
        size = row[base + 5]
        atime = row[base + 6]
        mtime = row[base + 7]
        ctime = row[base + 8]
        nlink = row[base + 9]
        target = row[base + 10]
        hsmFlags = row[base + 11]
        archiveId = row[base + 12]
        dataVersion = row[base + 13]
        metaVersion = row[base + 14]
        archivedKey = row[base + 15]
        archivedEtag = row[base + 16]
        archivedDataVersion = row[base + 17]
        archivedMetaVersion = row[base + 18]
        archivedAt = row[base + 19]
        attributesPending = row[base + 20]
        rdev = row[base + 21]
    }

    package var isReleased: Bool { HSMFlags(rawValue: hsmFlags).contains(.released) }
    package var mode: UInt32 { UInt32(type.rawValue) | perm }

    package init(
        ino: InodeNumber = 0, type: FileType, perm: UInt32, uid: UInt32, gid: UInt32, size: Int64 = 0,
        time: Int64, nlink: Int = 1, target: String? = nil, rdev: UInt64 = 0
    ) {
        self.ino = ino
        self.type = type
        self.perm = perm & 0o7777
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = time
        self.mtime = time
        self.ctime = time
        self.nlink = nlink
        self.target = target
        self.rdev = rdev
        self.hsmFlags = 0
        self.archiveId = 0
        self.dataVersion = 0
        self.metaVersion = 0
        self.archivedKey = nil
        self.archivedEtag = nil
        self.archivedDataVersion = nil
        self.archivedMetaVersion = nil
        self.archivedAt = nil
        self.attributesPending = false
    }
}

/// A name in a directory.
package struct DirectoryEntry: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    package static let databaseTableName = "dentry"
    package var parent: InodeNumber
    package var name: String
    package var ino: InodeNumber
}

/// A queued export: the inode to bring in line with the repository, or a key to delete there. Kept in the
/// MDT so exports survive a crash and resume on restart.
struct ExportEntry: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "exportQueue"
    enum Operation: String, Codable, Sendable { case sync, delete }
    var seq: Int64?
    var operation: Operation
    var ino: InodeNumber?
    /// For `delete`: the key and the association it belongs to.
    var key: String?
    var association: String?
    /// Export tasks and hsm_archive export regardless of the association's AutoExportPolicy.
    var forced: Bool
    var attempts: Int
    var notBefore: Int64
}

extension ExportEntry {
    /// Decoded by hand: the worker reads the queue's head (up to 2,048 rows) before each batch, and the
    /// Codable decoder was a tenth of an export's CPU (profiled).
    init(row: Row) throws {
        let operation = try row.decode(String.self, forColumn: "operation")
        guard let parsed = Operation(rawValue: operation) else {
            throw FileSystemError.io("the export queue holds an entry of unknown operation '\(operation)'")
        }
        self.init(
            seq: try row.decode(forColumn: "seq"), operation: parsed, ino: try row.decode(forColumn: "ino"),
            key: try row.decode(forColumn: "key"), association: try row.decode(forColumn: "association"),
            forced: try row.decode(forColumn: "forced"), attempts: try row.decode(forColumn: "attempts"),
            notBefore: try row.decode(forColumn: "notBefore"))
    }
}

extension DirectoryEntry {
    /// Decoded by hand, as `ExportEntry`: every path an export computes reads one entry per level.
    package init(row: Row) throws {
        self.init(
            parent: try row.decode(forColumn: "parent"), name: try row.decode(forColumn: "name"),
            ino: try row.decode(forColumn: "ino"))
    }
}

/// The MDT: SQLite through GRDB in WAL mode, so lookups run in parallel with one writer.
///
/// Every SQL statement of the file system lives in this file and in `MetadataTransaction`: callers run named
/// operations inside `read` or `write`, so a change and what it implies (the export it queues, the links it
/// counts) commit together or not at all.
package final class MetadataStore: Sendable {
    package static let rootInode: InodeNumber = 1
    private let pool: DatabasePool
    private let grouped: GroupCommit
    private let blockingReaders: BlockingReaders
    private let inodes = InodeCache()
    /// Fires after every commit that queued an export (see `CommitActions.queuedExport`).
    let exportQueued = Signal()

    package init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL with NORMAL: a crashed process loses nothing committed; only a power cut may lose the last
            // transactions, never consistency.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // No memory map: a connection's first read after another one's commit starts again from an empty
            // page cache, and with a map it also unmaps the whole file (a TLB shootdown across the process's
            // threads) and faults every page back in. Beside 1,000,000 files that made a create 15% dearer
            // than in an empty file system (profiled); with pread(2) it costs the same, and less in both.
            try db.execute(sql: "PRAGMA mmap_size = 0")
        }
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: path, configuration: configuration)
        grouped = GroupCommit(pool: pool, inodes: inodes, exportQueued: exportQueued)
        try Self.migrator.migrate(pool)
        var readOnly = configuration
        readOnly.readonly = true
        blockingReaders = BlockingReaders(path: path, configuration: readOnly)
    }

    /// Runs `body` in a read-only snapshot (in parallel with other reads and with the writer).
    func read<T: Sendable>(_ body: @escaping @Sendable (MetadataTransaction) throws -> T) async throws -> T {
        try await pool.unsafeRead { db in
            try db.inCachedTransaction("BEGIN DEFERRED TRANSACTION") { try body(MetadataTransaction(db)) }
        }
    }

    /// `read` on the calling thread, which it blocks while the body runs: for the mount's request threads,
    /// which may block, so a lookup or a stat costs no trip to a connection's queue and back (two thread
    /// switches: most of a lookup's CPU, profiled). In WAL mode a reader never waits for the writer.
    func readBlocking<T>(_ body: (MetadataTransaction) throws -> T) throws -> T {
        try blockingReaders.read { db in
            try db.inCachedTransaction("BEGIN DEFERRED TRANSACTION") { try body(MetadataTransaction(db)) }
        }
    }

    /// An inode's latest committed record on the calling thread (see `readBlocking`), from the cache of
    /// recent records when it has it (see `InodeCache`).
    func inodeBlocking(_ ino: InodeNumber) throws -> Inode? {
        if let cached = inodes.get(ino) { return cached }
        let generation = inodes.generation
        let inode = try readBlocking { db in try db.inode(ino) }
        if let inode { inodes.fill(inode, readAfter: generation) }
        return inode
    }

    /// `inodeBlocking` for tasks: the cached record, or a read through the pool.
    func inode(_ ino: InodeNumber) async throws -> Inode? {
        if let cached = inodes.get(ino) { return cached }
        let generation = inodes.generation
        let inode = try await read { db in try db.inode(ino) }
        if let inode { inodes.fill(inode, readAfter: generation) }
        return inode
    }

    /// Runs `body` in one write transaction: all of it commits, or none of it does.
    func write<T: Sendable>(_ body: @escaping @Sendable (MetadataTransaction) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            let actions = CommitActions(inodes: self.inodes, exportQueued: self.exportQueued)
            let value = try db.inCachedTransaction("BEGIN IMMEDIATE TRANSACTION") {
                try body(MetadataTransaction(db, commitActions: actions))
            }
            actions.run()
            return value
        }
    }

    /// `write` on the calling thread, which it blocks until the writer is free and the transaction has
    /// committed: for the mount's request threads, which may block (see `readBlocking`).
    func writeBlocking<T>(_ body: (MetadataTransaction) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            let actions = CommitActions(inodes: self.inodes, exportQueued: self.exportQueued)
            let value = try db.inCachedTransaction("BEGIN IMMEDIATE TRANSACTION") {
                try body(MetadataTransaction(db, commitActions: actions))
            }
            actions.run()
            return value
        }
    }

    /// Like `write`, but sharing a transaction with the other writes waiting at that moment (each in its own
    /// savepoint: see `GroupCommit`). For the many small concurrent writes of imports and exports.
    func writeGrouped<T: Sendable>(_ body: @escaping @Sendable (MetadataTransaction) throws -> T) async throws -> T {
        try await grouped.write(body)
    }

    func close() throws {
        blockingReaders.close()
        try pool.close()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "inode") { t in
                t.primaryKey("ino", .integer)
                t.column("type", .integer).notNull()
                t.column("perm", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("size", .integer).notNull()
                t.column("atime", .integer).notNull()
                t.column("mtime", .integer).notNull()
                t.column("ctime", .integer).notNull()
                t.column("nlink", .integer).notNull()
                t.column("target", .text)
                t.column("hsmFlags", .integer).notNull()
                t.column("archiveId", .integer).notNull()
                t.column("dataVersion", .integer).notNull()
                t.column("metaVersion", .integer).notNull()
                t.column("archivedKey", .text)
                t.column("archivedEtag", .text)
                t.column("archivedDataVersion", .integer)
                t.column("archivedMetaVersion", .integer)
                t.column("archivedAt", .integer)
                t.column("attributesPending", .boolean).notNull()
            }
            try db.create(table: "dentry", options: .withoutRowID) { t in
                t.column("parent", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("ino", .integer).notNull()
                t.primaryKey(["parent", "name"])
            }
            try db.create(index: "dentry_ino", on: "dentry", columns: ["ino"])
            try db.create(index: "inode_pending", on: "inode", columns: ["attributesPending"])
            try db.create(table: "exportQueue") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("operation", .text).notNull()
                t.column("ino", .integer)
                t.column("key", .text)
                t.column("association", .text)
                t.column("forced", .boolean).notNull()
                t.column("attempts", .integer).notNull()
                t.column("notBefore", .integer).notNull()
            }
            try db.create(table: "association") { t in
                t.primaryKey("id", .text)
                t.column("document", .text).notNull()
            }
            try db.create(table: "task") { t in
                t.primaryKey("id", .text)
                t.column("document", .text).notNull()
            }
            try db.create(table: "setting") { t in
                t.primaryKey("name", .text)
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v2-xattrs") { db in
            // Extended attributes set through the mount (user.*, trusted.*, security.*); they stay in the
            // file system (FSx does not export them either).
            try db.create(table: "xattr", options: .withoutRowID) { t in
                t.column("ino", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .blob).notNull()
                t.primaryKey(["ino", "name"])
            }
            try db.execute(sql: "CREATE TRIGGER inode_xattrs AFTER DELETE ON inode BEGIN DELETE FROM xattr WHERE ino = old.ino; END")
        }
        migrator.registerMigration("v3-special-files") { db in
            // FIFOs, devices and sockets: a device's number.
            try db.alter(table: "inode") { t in t.add(column: "rdev", .integer).notNull().defaults(to: 0) }
        }
        migrator.registerMigration("v4-export-queue-by-inode") { db in
            // Every close of a written file asks for the file's queued syncs: without an index that read the
            // whole queue, so closes slowed down as exports fell behind (a tenth of a create's CPU with a
            // backlog of a thousand, profiled).
            try db.create(index: "exportQueue_ino", on: "exportQueue", columns: ["ino"])
        }
        migrator.registerMigration("v5-released-archives") { db in
            // Every export asks whether its key still holds a renamed released file's only copy. Partial: only
            // released files are indexed, so creates and exports of local files pay nothing for it.
            try db.execute(
                sql: "CREATE INDEX inode_released_archive ON inode(archivedKey) WHERE (hsmFlags & \(HSMFlags.released.rawValue)) != 0")
        }
        return migrator
    }
}

/// Read-only connections of the store's own for `readBlocking`, one per thread reading at a moment. The
/// pool's readers are handed out through a barrier queue, a semaphore and a lock, and run on a queue of
/// their own: for a lookup that costs more than the query (profiled). A connection here is taken from a
/// list under a lock, used on the calling thread, and put back.
private final class BlockingReaders: Sendable {
    private let path: String
    private let configuration: Configuration
    private struct State {
        var idle: [DatabaseQueue] = []
        var closed = false
    }
    private let state = Mutex(State())
    /// More connections than this are not kept (the mount has at most a few dozen request threads).
    private let keep = 32

    init(path: String, configuration: Configuration) {
        self.path = path
        self.configuration = configuration
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let taken = try state.withLock { state -> DatabaseQueue? in
            guard !state.closed else { throw FileSystemError.io("the MDT is closed") }
            return state.idle.popLast()
        }
        let connection = try taken ?? DatabaseQueue(path: path, configuration: configuration)
        defer {
            let kept = state.withLock { state -> Bool in
                guard !state.closed, state.idle.count < keep else { return false }
                state.idle.append(connection)
                return true
            }
            if !kept { try? connection.close() }
        }
        return try connection.inDatabase(body)
    }

    func close() {
        let connections = state.withLock { state -> [DatabaseQueue] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for connection in connections { try? connection.close() }
    }
}

extension Database {
    /// Runs `body` in a transaction begun with `begin` and committed, through cached statements. GRDB's own
    /// transaction methods prepare BEGIN and COMMIT anew each time, which was a seventh of the CPU of a
    /// create (profiled). Any error rolls back and is rethrown.
    func inCachedTransaction<T>(_ begin: String, _ body: () throws -> T) throws -> T {
        try cachedStatement(sql: begin).execute()
        do {
            let value = try body()
            try cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return value
        } catch {
            if isInsideTransaction { try? rollback() }
            throw error
        }
    }

    /// Runs `body` in a savepoint of the current transaction, through cached statements (as
    /// `inCachedTransaction`): an error rolls back what `body` did, and only that, and is rethrown.
    func inCachedSavepoint<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement(sql: "SAVEPOINT item").execute()
        do {
            let value = try body()
            try cachedStatement(sql: "RELEASE SAVEPOINT item").execute()
            return value
        } catch {
            try? cachedStatement(sql: "ROLLBACK TO SAVEPOINT item").execute()
            try? cachedStatement(sql: "RELEASE SAVEPOINT item").execute()
            throw error
        }
    }
}
