import Foundation
import GRDB
import HSM

/// The MDT's tables beside the namespace: the export queue, extended attributes, inodes waiting for their
/// attributes, and the JSON documents of associations and tasks.
extension MetadataTransaction {
    // MARK: Export queue

    /// Sync entries of an inode that have not been tried yet (forced ones only, when `forced`).
    func untriedSyncs(of ino: InodeNumber, forced: Bool) throws -> [Int64] {
        try Int64.fetchAll(
            prepared("SELECT seq FROM exportQueue WHERE operation = 'sync' AND ino = ? AND attempts = 0 AND forced >= ?"),
            arguments: [ino, forced])
    }

    /// A released inode other than `ino` whose archived copy is the object at `key`: its only data. It was
    /// renamed, and its export has not copied that object to its new name yet. (A lost one has no data there.)
    func releasedInode(archivedAt key: String, except ino: InodeNumber) throws -> InodeNumber? {
        // The flag is a literal, not a parameter, so SQLite can use the partial index `inode_released_archive`.
        try InodeNumber.fetchOne(
            prepared(
                """
                SELECT ino FROM inode WHERE archivedKey = ? AND (hsmFlags & \(HSMFlags.released.rawValue)) != 0
                  AND (hsmFlags & \(HSMFlags.lost.rawValue)) = 0 AND ino != ? LIMIT 1
                """),
            arguments: [key, ino])
    }

    func enqueue(_ entry: ExportEntry) throws {
        try prepared(
            """
            INSERT INTO exportQueue (operation, ino, key, association, forced, attempts, notBefore) VALUES (?,?,?,?,?,?,?)
            """
        ).execute(arguments: [entry.operation.rawValue, entry.ino, entry.key, entry.association, entry.forced, entry.attempts, entry.notBefore])
        commitActions?.queuedExport()
    }

    /// The oldest entries, in queue order.
    func queuedExports(limit: Int) throws -> [ExportEntry] {
        try ExportEntry.fetchAll(prepared("SELECT * FROM exportQueue ORDER BY seq LIMIT ?"), arguments: [limit])
    }

    func queuedExportCount() throws -> Int {
        try Int.fetchOne(prepared("SELECT COUNT(*) FROM exportQueue")) ?? 0
    }

    /// Entries that failed at least once and wait for their next attempt.
    func retryingExportCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM exportQueue WHERE attempts > 0") ?? 0
    }

    /// When the earliest entry may run (ns), nil for an empty queue.
    func earliestExportDue() throws -> Int64? {
        try Int64.fetchOne(prepared("SELECT MIN(notBefore) FROM exportQueue"))
    }

    func dequeueExport(_ seq: Int64) throws {
        try prepared("DELETE FROM exportQueue WHERE seq = ?").execute(arguments: [seq])
    }

    func postponeExport(_ seq: Int64, attempts: Int, notBefore: Int64) throws {
        try prepared("UPDATE exportQueue SET attempts = ?, notBefore = ? WHERE seq = ?").execute(arguments: [attempts, notBefore, seq])
    }

    func dequeueExports(ofAssociation id: String) throws {
        try db.execute(sql: "DELETE FROM exportQueue WHERE association = ?", arguments: [id])
    }

    // MARK: Attributes still to fetch

    /// Inodes imported from a listing whose POSIX attributes have not arrived yet.
    func inodesAwaitingAttributes() throws -> [InodeNumber] {
        try InodeNumber.fetchAll(db, sql: "SELECT ino FROM inode WHERE attributesPending")
    }

    /// The same, for the keys under a prefix.
    func inodesAwaitingAttributes(keyPrefix prefix: String) throws -> [Inode] {
        let escaped = prefix.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return try Inode.fetchAll(
            db, sql: "SELECT * FROM inode WHERE attributesPending AND archivedKey LIKE ? ESCAPE '\\'",
            arguments: [escaped + "%"])
    }

    // MARK: Extended attributes

    func extendedAttribute(_ ino: InodeNumber, name: String) throws -> Data? {
        try Data.fetchOne(prepared("SELECT value FROM xattr WHERE ino = ? AND name = ?"), arguments: [ino, name])
    }

    func hasExtendedAttribute(_ ino: InodeNumber, name: String) throws -> Bool {
        try Bool.fetchOne(prepared("SELECT EXISTS(SELECT 1 FROM xattr WHERE ino = ? AND name = ?)"), arguments: [ino, name]) ?? false
    }

    func setExtendedAttribute(_ ino: InodeNumber, name: String, value: Data) throws {
        try db.execute(
            sql: "INSERT INTO xattr (ino, name, value) VALUES (?, ?, ?) ON CONFLICT(ino, name) DO UPDATE SET value = excluded.value",
            arguments: [ino, name, value])
    }

    func extendedAttributeNames(_ ino: InodeNumber) throws -> [String] {
        try String.fetchAll(prepared("SELECT name FROM xattr WHERE ino = ? ORDER BY name"), arguments: [ino])
    }

    /// Removes one attribute; false when the inode had none of that name.
    func removeExtendedAttribute(_ ino: InodeNumber, name: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM xattr WHERE ino = ? AND name = ?", arguments: [ino, name])
        return db.changesCount > 0
    }

    func anyExtendedAttribute() throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM xattr)") ?? false
    }

    // MARK: Documents

    /// The documents of one kind, oldest first.
    func documents(_ kind: DocumentKind) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT document FROM \(kind.rawValue) ORDER BY rowid")
    }

    func saveDocument(_ document: String, id: String, _ kind: DocumentKind) throws {
        try db.execute(
            sql: """
                INSERT INTO \(kind.rawValue) (id, document) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET document = excluded.document
                """, arguments: [id, document])
    }

    func deleteDocument(id: String, _ kind: DocumentKind) throws {
        try db.execute(sql: "DELETE FROM \(kind.rawValue) WHERE id = ?", arguments: [id])
    }
}

/// What the MDT keeps as JSON documents (their tables have the same two columns).
enum DocumentKind: String {
    case association
    case task
}
