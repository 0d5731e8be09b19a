import Foundation
import GRDB
import HSM

/// The named operations of one MDT transaction: the namespace, inode records, the export queue, extended
/// attributes, and the association and task documents. The file system composes them inside
/// `MetadataStore.read` or `write`; it never sees SQL or the database connection itself.
struct MetadataTransaction {
    /// Only the store's own files (MetadataTransaction*.swift) touch the connection.
    let db: Database
    /// Where a write transaction keeps its work for after the commit; nil in a read.
    let commitActions: CommitActions?

    init(_ db: Database, commitActions: CommitActions? = nil) {
        self.db = db
        self.commitActions = commitActions
    }

    /// Runs `action` once this transaction committed (not at all after a rollback), on the writer's queue
    /// before any other write: where side effects outside the MDT (cache files) belong.
    func afterCommit(_ action: @escaping @Sendable () -> Void) {
        guard let commitActions else {
            preconditionFailure("afterCommit in a read transaction: only a write commits")
        }
        commitActions.append(action)
    }

    // MARK: Inodes

    /// A statement prepared once per connection. For the small queries the namespace runs on every request,
    /// preparing costs more than running (GRDB's authorizer visits every column of the statement).
    func prepared(_ sql: String) throws -> Statement {
        try db.cachedStatement(sql: sql)
    }

    func inode(_ ino: InodeNumber) throws -> Inode? {
        let cursor = try InodeCursor.make(prepared(InodeCursor.selectByNumber), arguments: [ino])
        let inode = try cursor.next()
        // Stepped to its end, so the statement is done before its next use.
        _ = try cursor.next()
        return inode
    }

    /// Inserts a new inode and returns it with its number.
    func insertInode(_ inode: Inode) throws -> Inode {
        var copy = inode
        try prepared(
            """
            INSERT INTO inode (type, perm, uid, gid, size, atime, mtime, ctime, nlink, target, hsmFlags, archiveId,
              dataVersion, metaVersion, archivedKey, archivedEtag, archivedDataVersion, archivedMetaVersion, archivedAt,
              attributesPending, rdev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """
        ).execute(arguments: Self.columnValues(inode))
        copy.ino = db.lastInsertedRowID
        commitActions?.publish(copy.ino, copy)
        return copy
    }

    /// The inode's columns but its number, in the order of `insertInode` and `update`.
    private static func columnValues(_ inode: Inode) -> StatementArguments {
        [
            inode.type, inode.perm, inode.uid, inode.gid, inode.size, inode.atime, inode.mtime, inode.ctime,
            inode.nlink, inode.target, inode.hsmFlags, inode.archiveId, inode.dataVersion, inode.metaVersion,
            inode.archivedKey, inode.archivedEtag, inode.archivedDataVersion, inode.archivedMetaVersion,
            inode.archivedAt, inode.attributesPending, inode.rdev,
        ]
    }

    /// Inserts an inode under the number it already has (the root).
    func insertWithNumber(_ inode: Inode) throws {
        try inode.insert(db)
        commitActions?.publish(inode.ino, nil)
    }

    /// Writes every column of an existing inode (one prepared statement: GRDB's record update builds its
    /// statement from the record's encoding each time).
    func update(_ inode: Inode) throws {
        var arguments = Self.columnValues(inode)
        arguments += [inode.ino]
        try prepared(
            """
            UPDATE inode SET type = ?, perm = ?, uid = ?, gid = ?, size = ?, atime = ?, mtime = ?, ctime = ?, nlink = ?,
              target = ?, hsmFlags = ?, archiveId = ?, dataVersion = ?, metaVersion = ?, archivedKey = ?, archivedEtag = ?,
              archivedDataVersion = ?, archivedMetaVersion = ?, archivedAt = ?, attributesPending = ?, rdev = ?
            WHERE ino = ?
            """
        ).execute(arguments: arguments)
        if db.changesCount == 0 {
            throw RecordError.recordNotFound(databaseTableName: Inode.databaseTableName, key: ["ino": inode.ino.databaseValue])
        }
        commitActions?.publish(inode.ino, inode)
    }

    func deleteInode(_ ino: InodeNumber) throws {
        try prepared("DELETE FROM inode WHERE ino = ?").execute(arguments: [ino])
        commitActions?.publish(ino, nil)
    }

    /// Adds `delta` to an inode's link count (a directory's count follows its subdirectories).
    func adjustLinkCount(_ ino: InodeNumber, by delta: Int) throws {
        try prepared("UPDATE inode SET nlink = nlink + ? WHERE ino = ?").execute(arguments: [delta, ino])
        commitActions?.publish(ino, nil)
    }

    func setLinkCount(_ ino: InodeNumber, to count: Int) throws {
        try prepared("UPDATE inode SET nlink = ? WHERE ino = ?").execute(arguments: [count, ino])
        commitActions?.publish(ino, nil)
    }

    /// A directory whose entries changed: mtime and ctime become `now`.
    func touchDirectory(_ ino: InodeNumber, at now: Int64) throws {
        try prepared("UPDATE inode SET mtime = ?, ctime = ? WHERE ino = ?").execute(arguments: [now, now, ino])
        commitActions?.publish(ino, nil)
    }

    func setChangeTime(_ ino: InodeNumber, to now: Int64) throws {
        try prepared("UPDATE inode SET ctime = ? WHERE ino = ?").execute(arguments: [now, ino])
        commitActions?.publish(ino, nil)
    }

    func inodeCount() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM inode") ?? 0
    }

    /// Every inode of a subtree, its root included.
    func subtree(_ ino: InodeNumber) throws -> [Inode] {
        try Inode.fetchAll(
            db,
            sql: """
                WITH RECURSIVE tree(ino) AS (SELECT ? UNION SELECT dentry.ino FROM dentry JOIN tree ON dentry.parent = tree.ino)
                SELECT inode.* FROM inode JOIN tree ON inode.ino = tree.ino
                """, arguments: [ino])
    }

    // MARK: Recovery and space

    /// Inodes no name links to (unlinked while open when the process died), the root aside.
    func orphanInodes() throws -> [InodeNumber] {
        try InodeNumber.fetchAll(
            db,
            sql: """
                SELECT ino FROM inode WHERE ino != ? AND NOT EXISTS (SELECT 1 FROM dentry WHERE dentry.ino = inode.ino)
                """, arguments: [MetadataStore.rootInode])
    }

    /// Regular files whose data is local (not released).
    func localFiles() throws -> [Inode] {
        try Inode.fetchAll(
            db, sql: "SELECT * FROM inode WHERE type = ? AND (hsmFlags & ?) = 0",
            arguments: [FileType.regular, HSMFlags.released.rawValue])
    }

    /// Local files changed since their last export that have no export queued.
    func unexportedLocalFiles() throws -> [InodeNumber] {
        try InodeNumber.fetchAll(
            db,
            sql: """
                SELECT ino FROM inode WHERE type = ? AND (hsmFlags & ?) = 0
                  AND (archivedDataVersion IS NULL OR archivedDataVersion != dataVersion)
                  AND NOT EXISTS (SELECT 1 FROM exportQueue WHERE exportQueue.ino = inode.ino)
                """, arguments: [FileType.regular, HSMFlags.released.rawValue])
    }

    /// Bytes of local data: what counts against the capacity.
    func localBytes() throws -> Int64 {
        try Int64.fetchOne(
            db, sql: "SELECT COALESCE(SUM(size), 0) FROM inode WHERE type = ? AND (hsmFlags & ?) = 0",
            arguments: [FileType.regular, HSMFlags.released.rawValue]) ?? 0
    }

    // MARK: Names

    func entry(parent: InodeNumber, name: String) throws -> DirectoryEntry? {
        try DirectoryEntry.fetchOne(prepared("SELECT * FROM dentry WHERE parent = ? AND name = ?"), arguments: [parent, name])
    }

    func children(of parent: InodeNumber) throws -> [DirectoryEntry] {
        try DirectoryEntry.fetchAll(prepared("SELECT * FROM dentry WHERE parent = ? ORDER BY name"), arguments: [parent])
    }

    /// A directory's entries with their inodes, in name order (one query for readdirplus).
    func entriesWithInodes(of parent: InodeNumber) throws -> [(name: String, inode: Inode)] {
        let rows = try Row.fetchAll(
            prepared(
                """
                SELECT dentry.name AS entryName, inode.* FROM dentry JOIN inode ON inode.ino = dentry.ino
                WHERE dentry.parent = ? ORDER BY dentry.name
                """), arguments: [parent])
        return try rows.map { row in (row["entryName"] as String, try Inode(row: row)) }
    }

    func hasChildren(_ parent: InodeNumber) throws -> Bool {
        try Bool.fetchOne(prepared("SELECT EXISTS(SELECT 1 FROM dentry WHERE parent = ?)"), arguments: [parent]) ?? false
    }

    /// The names linking to an inode (more than one for hard links).
    func links(of ino: InodeNumber) throws -> [DirectoryEntry] {
        try DirectoryEntry.fetchAll(prepared("SELECT * FROM dentry WHERE ino = ? ORDER BY parent, name"), arguments: [ino])
    }

    /// The absolute path of the first link of an inode, or nil for an unlinked one (or one in a directory
    /// that is). One statement walks up to the root: a query per level was most of an export's reads.
    /// Directories have one link each, so only the inode's own names need ordering.
    func path(of ino: InodeNumber) throws -> String? {
        if ino == MetadataStore.rootInode { return "/" }
        let rows = try LinkCursor.make(
            prepared(
                """
                WITH RECURSIVE up(parent, name, depth) AS (
                  SELECT * FROM (SELECT parent, name, 0 FROM dentry WHERE ino = ? ORDER BY parent, name LIMIT 1)
                  UNION ALL
                  SELECT dentry.parent, dentry.name, up.depth + 1 FROM up JOIN dentry ON dentry.ino = up.parent
                  WHERE up.parent != ? AND up.depth < 4096
                )
                SELECT parent, name FROM up ORDER BY depth
                """), arguments: [ino, MetadataStore.rootInode])
        var components: [String] = []
        var top: InodeNumber = 0
        while let link = try rows.next() {
            top = link.parent
            components.append(link.name)
        }
        guard top == MetadataStore.rootInode else { return nil }
        return "/" + components.reversed().joined(separator: "/")
    }

    /// Every path of an inode (one per hard link).
    func paths(of ino: InodeNumber) throws -> [String] {
        try links(of: ino).compactMap { link in
            guard let parentPath = try path(of: link.parent) else { return nil }
            return parentPath == "/" ? "/" + link.name : parentPath + "/" + link.name
        }
    }

    /// Resolves an absolute path without following symlinks.
    func resolve(_ path: String) throws -> Inode? {
        var current = MetadataStore.rootInode
        for component in path.split(separator: "/") where component != "." {
            guard let entry = try entry(parent: current, name: String(component)) else { return nil }
            current = entry.ino
        }
        return try inode(current)
    }

    func link(parent: InodeNumber, name: String, ino: InodeNumber) throws {
        try prepared("INSERT INTO dentry (parent, name, ino) VALUES (?, ?, ?)").execute(arguments: [parent, name, ino])
    }

    func unlinkEntry(parent: InodeNumber, name: String) throws {
        try prepared("DELETE FROM dentry WHERE parent = ? AND name = ?").execute(arguments: [parent, name])
    }

    /// Points an existing name at another inode (one half of RENAME_EXCHANGE).
    func repoint(parent: InodeNumber, name: String, to ino: InodeNumber) throws {
        try prepared("UPDATE dentry SET ino = ? WHERE parent = ? AND name = ?").execute(arguments: [ino, parent, name])
    }

    // MARK: Settings

    func setting(_ name: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = ?", arguments: [name])
    }

    func setSetting(_ name: String, _ value: String) throws {
        try db.execute(
            sql: "INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            arguments: [name, value])
    }
}

/// The work a write transaction leaves for after its commit. Kept by the store rather than registered with
/// GRDB's `afterNextTransaction`: that adds a transaction observer, and adding one drops every cached
/// statement that deletes rows, so each unlink prepared its DELETEs again (a tenth of its CPU).
/// Only the writer's queue touches it, inside one write.
final class CommitActions {
    private var actions: [@Sendable () -> Void] = []
    /// Where the inode records this transaction writes are published once it committed.
    private let inodes: InodeCache
    /// Fired once a transaction that queued an export committed: the worker wakes for real work only.
    private let exportQueued: Signal

    init(inodes: InodeCache, exportQueued: Signal) {
        self.inodes = inodes
        self.exportQueued = exportQueued
    }

    /// After the commit, the export worker is woken (this transaction queued an entry).
    func queuedExport() {
        let signal = exportQueued
        actions.append { signal.fire() }
    }

    /// After the commit, `inode` (nil: whatever the cache has of `ino` goes) is the inode's record.
    func publish(_ ino: InodeNumber, _ inode: Inode?) {
        let inodes = self.inodes
        actions.append { inodes.published(ino, inode) }
    }

    var count: Int { actions.count }

    func append(_ action: @escaping @Sendable () -> Void) {
        actions.append(action)
    }

    /// Forgets what was registered after `count` (a savepoint rolled back).
    func truncate(to count: Int) {
        actions.removeSubrange(count...)
    }

    /// Runs the actions once the transaction committed.
    func run() {
        let pending = actions
        actions = []
        for action in pending { action() }
    }
}

/// Rows read straight from their statement's columns by `decode`. GRDB's record cursors build a table of every
/// column's lowercased name for each query, which was a sixth of the CPU of a create (profiled), and its `Row`
/// cost a path walk more than its three index lookups.
private final class ColumnCursor<Element>: DatabaseCursor {
    let _statement: Statement
    var _isDone = false
    private let decode: (SQLiteStatement) throws -> Element

    init(_ statement: Statement, arguments: StatementArguments, decode: @escaping (SQLiteStatement) throws -> Element) throws {
        _statement = statement
        self.decode = decode
        try statement.setArguments(arguments)
    }

    func _element(sqliteStatement: SQLiteStatement) throws -> Element { try decode(sqliteStatement) }
}

/// The (parent, name) rows of `path(of:)`.
private enum LinkCursor {
    static func make(_ statement: Statement, arguments: StatementArguments) throws -> ColumnCursor<(parent: InodeNumber, name: String)> {
        try ColumnCursor(statement, arguments: arguments) { sqliteStatement in
            guard let parent = Int64.fromStatement(sqliteStatement, atUncheckedIndex: 0),
                let name = String.fromStatement(sqliteStatement, atUncheckedIndex: 1)
            else { throw FileSystemError.io("a directory entry in the MDT lacks its parent or its name") }
            return (parent, name)
        }
    }
}

/// One inode read straight from its statement's columns, for the lookup of an inode by number that nearly
/// every request makes.
private enum InodeCursor {
    static let selectByNumber = "SELECT \(Inode.columns.joined(separator: ", ")) FROM inode WHERE ino = ?"

    static func make(_ statement: Statement, arguments: StatementArguments) throws -> ColumnCursor<Inode> {
        try ColumnCursor(statement, arguments: arguments, decode: decode)
    }

    static func decode(_ sqliteStatement: SQLiteStatement) throws -> Inode {
        let column = Columns(statement: sqliteStatement)
        guard let type = FileType(rawValue: Int(try column.integer(1))) else {
            throw FileSystemError.io("inode \(try column.integer(0)) has an unknown type \(try column.integer(1)) in the MDT")
        }
        var inode = Inode(
            type: type, perm: try column.uint32(2), uid: try column.uint32(3), gid: try column.uint32(4), size: try column.integer(5),
            time: 0, nlink: Int(try column.integer(9)), target: column.text(10), rdev: UInt64(bitPattern: try column.integer(21)))
        inode.ino = try column.integer(0)
        inode.perm = try column.uint32(2)
        inode.atime = try column.integer(6)
        inode.mtime = try column.integer(7)
        inode.ctime = try column.integer(8)
        inode.hsmFlags = try column.uint32(11)
        inode.archiveId = try column.uint32(12)
        inode.dataVersion = try column.integer(13)
        inode.metaVersion = try column.integer(14)
        inode.archivedKey = column.text(15)
        inode.archivedEtag = column.text(16)
        inode.archivedDataVersion = column.optionalInteger(17)
        inode.archivedMetaVersion = column.optionalInteger(18)
        inode.archivedAt = column.optionalInteger(19)
        inode.attributesPending = try column.integer(20) != 0
        return inode
    }

    /// Typed reads of the current row's columns, in the order of `Inode.columns`.
    private struct Columns {
        let statement: SQLiteStatement

        func optionalInteger(_ index: CInt) -> Int64? {
            Int64.fromStatement(statement, atUncheckedIndex: index)
        }

        func integer(_ index: CInt) throws -> Int64 {
            guard let value = optionalInteger(index) else {
                throw FileSystemError.io("column \(Inode.columns[Int(index)]) of an inode is NULL in the MDT")
            }
            return value
        }

        func uint32(_ index: CInt) throws -> UInt32 {
            guard let value = UInt32(exactly: try integer(index)) else {
                throw FileSystemError.io("column \(Inode.columns[Int(index)]) of an inode is out of range in the MDT")
            }
            return value
        }

        func text(_ index: CInt) -> String? {
            String.fromStatement(statement, atUncheckedIndex: index)
        }
    }
}
