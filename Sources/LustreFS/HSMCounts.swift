import Foundation
import GRDB
import HSM
import Synchronization

/// How many regular files under an association are in each HSM state, as `lfs hsm_state` would report them
/// file by file: released (data only in the repository), archived (a copy there), dirty (changed since), lost.
package struct HSMCounts: Sendable, Equatable, Codable {
    package var files = 0
    package var released = 0
    package var archived = 0
    package var dirty = 0
    package var lost = 0

    package init(files: Int = 0, released: Int = 0, archived: Int = 0, dirty: Int = 0, lost: Int = 0) {
        (self.files, self.released, self.archived, self.dirty, self.lost) = (files, released, archived, dirty, lost)
    }
}

extension MetadataTransaction {
    /// One query over the subtree (its cost grows with the subtree, not with the file system).
    func hsmCounts(under ino: InodeNumber) throws -> HSMCounts {
        let row = try Row.fetchOne(
            db,
            sql: """
                WITH RECURSIVE tree(ino) AS (SELECT ? UNION SELECT dentry.ino FROM dentry JOIN tree ON dentry.parent = tree.ino)
                SELECT COUNT(*) AS files,
                       COALESCE(SUM((hsmFlags & ?) != 0), 0) AS released, COALESCE(SUM((hsmFlags & ?) != 0), 0) AS archived,
                       COALESCE(SUM((hsmFlags & ?) != 0), 0) AS dirty, COALESCE(SUM((hsmFlags & ?) != 0), 0) AS lost
                FROM inode JOIN tree ON inode.ino = tree.ino WHERE inode.type = ?
                """,
            arguments: [
                ino, HSMFlags.released.rawValue, HSMFlags.archived.rawValue, HSMFlags.dirty.rawValue, HSMFlags.lost.rawValue,
                FileType.regular.rawValue,
            ])
        guard let row else { return HSMCounts() }
        return HSMCounts(files: row["files"], released: row["released"], archived: row["archived"], dirty: row["dirty"], lost: row["lost"])
    }
}

extension FileSystem {
    /// Exports waiting in the file system's queue (puts, metadata updates, deletes), retried ones included.
    package func queuedExports() async throws -> Int {
        try await store.read { db in try db.queuedExportCount() }
    }

    /// The HSM state counts of an association's files.
    package func hsmCounts(association id: String) async throws -> HSMCounts {
        guard let association = associationTable.find(id) else {
            throw AssociationError(.notFound, "data repository association \(id) does not exist")
        }
        let root = try await resolve(association.fileSystemPath)
        return try await store.read { db in try db.hsmCounts(under: root.ino) }
    }
}

/// What moved between each association and its repository since the file system was opened: entries imported
/// (created or changed from the repository, by batch import, events or sweeps), objects exported, objects
/// deleted from the repository. In memory: a counter, not a record.
package final class TransferCounters: Sendable {
    package struct Counts: Sendable, Equatable {
        package var imported = 0
        package var exported = 0
        package var deleted = 0
    }

    private let counts = Mutex([String: Counts]())

    func add(_ association: String, imported: Int = 0, exported: Int = 0, deleted: Int = 0) {
        guard imported + exported + deleted > 0 else { return }
        counts.withLock { all in
            all[association, default: Counts()].imported += imported
            all[association, default: Counts()].exported += exported
            all[association, default: Counts()].deleted += deleted
        }
    }

    func counts(of association: String) -> Counts { counts.withLock { $0[association] ?? Counts() } }
}

extension FileSystem {
    /// What moved for the association since the file system was opened.
    package func transfers(association id: String) -> TransferCounters.Counts { transfers.counts(of: id) }
}
