import DataRepository
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Data repository associations: create (CREATING → AVAILABLE, or MISCONFIGURED / FAILED with the reason),
/// update of the policies, delete with or without the data; and the auto-import machinery they run
/// (an event feed per association, periodic sweeps). One association request runs at a time.
extension FileSystem {
    func loadAssociations() async throws -> [Association] {
        let documents = try await store.read { db in try db.documents(.association) }
        return documents.compactMap { document in
            do {
                return try JSONDecoder().decode(Association.self, from: Data(document.utf8))
            } catch {
                // One unreadable record must not take the file system's other associations with it.
                logger.error("an association record in the MDT cannot be read and is ignored: \(error)")
                return nil
            }
        }
    }

    func save(_ association: Association) async throws {
        let document = String(decoding: try JSONEncoder().encode(association), as: UTF8.self)
        try await store.write { db in
            try db.saveDocument(document, id: association.id, .association)
        }
        associationTable.keep(association)
        recordsChanged.fire()
    }

    func repository(for association: Association) throws -> any DataRepository {
        try associationTable.repository(for: association.id) { try repositories.repository(for: association.location) }
    }

    package func associations() -> [Association] {
        associationTable.all
    }

    package func association(_ id: String) throws -> Association {
        guard let found = associationTable.find(id) else {
            throw AssociationError(.notFound, "data repository association \(id) does not exist")
        }
        return found
    }

    /// Checks and records a new association, then links it in the background (the caller sees CREATING;
    /// `waitForAssociation` follows it to AVAILABLE, MISCONFIGURED or FAILED).
    /// Requests are checked and recorded one at a time (`associationRequests`): two concurrent creates for one
    /// path would otherwise both pass the overlap check. A ClientRequestToken already used returns the
    /// association it made, or IncompatibleParameterError if it was used for another request.
    package func createAssociation(_ request: AssociationRequest) async throws -> Association {
        try await associationRequests.perform { try await self.recordAssociation(request) }
    }

    private func recordAssociation(_ request: AssociationRequest) async throws -> Association {
        if let token = request.clientRequestToken, let earlier = associations().first(where: { $0.clientRequestToken == token }) {
            guard earlier.requestFingerprint == request.fingerprint else {
                throw AssociationError(.incompatibleParameter, "ClientRequestToken '\(token)' was used with different parameters")
            }
            return earlier
        }
        let checked = try AssociationRules.check(request, existing: associations())
        let association = Association(
            id: ResourceId.make("dra"), fileSystemPath: checked.fileSystemPath, dataRepositoryPath: checked.dataRepositoryPath,
            lifecycle: .creating, failureMessage: nil, batchImportMetaDataOnCreate: checked.batchImportMetaDataOnCreate,
            importedFileChunkSize: checked.importedFileChunkSize, autoImport: checked.autoImport, autoExport: checked.autoExport,
            tags: checked.tags, creationTime: Date(), archiveId: 1, deleteDataInFileSystem: nil,
            clientRequestToken: request.clientRequestToken, requestFingerprint: request.clientRequestToken.map { _ in request.fingerprint },
            readTimeoutSeconds: checked.readTimeoutSeconds)
        // The directory must not be a file, and must be reachable.
        _ = try await makeDirectories(association.fileSystemPath)
        try await save(association)
        let task = Task { await self.associationSerial.run { await self.link(association.id) } }
        background.withLock { $0.background.append(task) }
        return association
    }

    /// `mkdir -p` of an association's directory (owner root, mode 0755).
    func makeDirectories(_ path: String) async throws -> Inode {
        var current = try await attributes(MetadataStore.rootInode)
        for component in path.split(separator: "/") {
            let name = String(component)
            do {
                current = try await lookup(parent: current.ino, name: name)
                guard current.type == .directory else {
                    throw AssociationError(.badRequest, "FileSystemPath \(path): \(name) exists and is not a directory")
                }
            } catch let error as FileSystemError where error.errno == ENOENT {
                current = try await makeNode(parent: current.ino, name: name, type: .directory, perm: 0o755, uid: 0, gid: 0)
            }
        }
        return current
    }

    func link(_ id: String) async {
        guard var association = try? self.association(id), association.lifecycle == .creating else { return }
        do {
            let repository = try repository(for: association)
            try await repository.checkAccess()
        } catch {
            association.lifecycle = .failed
            association.failureMessage = "the data repository \(association.dataRepositoryPath) cannot be used: \(error)"
            await logFailure(of: "recording association \(id) as FAILED") { try await save(association) }
            logger.error("\(association.failureMessage ?? "")")
            return
        }
        if !association.autoImport.isEmpty {
            do {
                try await startFeed(for: association)
            } catch {
                association.lifecycle = .misconfigured
                association.failureMessage = "auto-import cannot receive events from \(association.dataRepositoryPath): \(error)"
                logger.error("\(association.failureMessage ?? "")")
            }
        }
        if association.lifecycle == .creating { association.lifecycle = .available }
        if association.batchImportMetaDataOnCreate {
            // Stays CREATING until the import finished, as FSx's does.
            do {
                let report = try await reconcile(id, allowed: [.new, .changed])
                logger.info(
                    "association \(id): imported \(report.created) entries, \(report.skipped.count) skipped, in \(String(format: "%.2f", report.totalSeconds)) s (the namespace in \(String(format: "%.2f", report.namespaceSeconds)) s)"
                )
            } catch {
                association.lifecycle = .failed
                association.failureMessage = "the import from \(association.dataRepositoryPath) failed: \(error)"
            }
        }
        await logFailure(of: "recording association \(id) as \(association.lifecycle.rawValue)") { try await save(association) }
    }

    /// Waits until the association satisfies `condition` (or `timeout` seconds passed); returns it.
    package func waitForAssociation(
        _ id: String, timeout: Double = 120,
        until condition: @Sendable (Association) -> Bool = { $0.lifecycle != .creating && $0.lifecycle != .deleting && $0.lifecycle != .updating }
    ) async throws -> Association? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let seen = recordsChanged.current
            guard let current = associationTable.find(id) else { return nil }
            if condition(current) { return current }
            if Date() >= deadline { return current }
            try Task.checkCancellation()
            await recordsChanged.wait(after: seen, until: deadline)
        }
    }

    /// UpdateDataRepositoryAssociation: only the chunk size and the S3 policies change.
    package func updateAssociation(
        _ id: String, importedFileChunkSize: Int? = nil, autoImport: Set<RepositoryEventType>? = nil,
        autoExport: Set<RepositoryEventType>? = nil
    ) async throws -> Association {
        var association = try self.association(id)
        guard association.lifecycle == .available || association.lifecycle == .misconfigured else {
            throw AssociationError(.badRequest, "association \(id) is \(association.lifecycle.rawValue) and cannot be updated now")
        }
        if let size = importedFileChunkSize { association.importedFileChunkSize = try AssociationRules.chunkSize(size) }
        if let autoExport { association.autoExport = autoExport }
        let importChanged = autoImport != nil && autoImport != association.autoImport
        if let autoImport { association.autoImport = autoImport }
        if importChanged {
            association.lifecycle = .updating
            try await save(association)
            let updated = association
            let task = Task {
                await self.associationSerial.run {
                    var next = updated
                    next.lifecycle = .available
                    next.failureMessage = nil
                    do {
                        if next.autoImport.isEmpty {
                            await self.stopFeed(for: next, removeConfiguration: true)
                        } else {
                            try await self.startFeed(for: next)
                        }
                    } catch {
                        next.lifecycle = .misconfigured
                        next.failureMessage = "auto-import cannot receive events: \(error)"
                    }
                    await self.logFailure(of: "recording association \(next.id) as \(next.lifecycle.rawValue)") { try await self.save(next) }
                }
            }
            background.withLock { $0.background.append(task) }
            return association
        }
        try await save(association)
        return association
    }

    /// DeleteDataRepositoryAssociation: stops the feed and removes the bucket's notification entry; with
    /// `deleteData`, the association's files go too (the repository keeps its objects either way).
    package func deleteAssociation(_ id: String, deleteData: Bool) async throws -> Association {
        var association = try self.association(id)
        if association.lifecycle == .deleting { return association }
        association.lifecycle = .deleting
        association.deleteDataInFileSystem = deleteData
        try await save(association)
        let task = Task { await self.associationSerial.run { await self.finishDelete(id) } }
        background.withLock { $0.background.append(task) }
        return association
    }

    func finishDelete(_ id: String) async {
        guard let association = try? self.association(id), association.lifecycle == .deleting else { return }
        await stopFeed(for: association, removeConfiguration: true)
        // Queued exports of this association cannot run any more.
        // Left queued, they are dropped at the next start (their association is gone).
        await logFailure(of: "dropping the queued exports of association \(id)") {
            try await store.write { db in try db.dequeueExports(ofAssociation: id) }
        }
        if association.deleteDataInFileSystem == true, let root = try? await resolve(association.fileSystemPath) {
            // Forget the association first, so the removals are not exported as deletes.
            associationTable.forget(id, andItsRepository: false)
            recordsChanged.fire()
            // The association's directory goes as well (unless it is the file system's root): it was made for it.
            await logFailure(of: "removing the files of association \(id)") {
                try await store.write { db in
                    let members = try db.subtree(root.ino).filter { $0.ino != MetadataStore.rootInode }
                    for inode in members where inode.type != .directory { _ = try self.drop(db, inode) }
                    _ = try self.dropEmptyDirectories(db, members.filter { $0.type == .directory })
                }
            }
            freeReleasedSpace()
        }
        do {
            try await store.write { db in try db.deleteDocument(id: id, .association) }
        } catch {
            logger.error("association \(id): its record could not be removed (it is deleted again at the next start): \(error)")
        }
        associationTable.forget(id, andItsRepository: true)
        recordsChanged.fire()
    }

    /// After a crash: associations caught CREATING are linked again, DELETING ones finish deleting.
    func cleanUpIncompleteAssociations() async throws {
        for association in associations() {
            switch association.lifecycle {
            case .creating:
                let task = Task { await self.associationSerial.run { await self.link(association.id) } }
                background.withLock { $0.background.append(task) }
            case .deleting:
                let task = Task { await self.associationSerial.run { await self.finishDelete(association.id) } }
                background.withLock { $0.background.append(task) }
            case .updating:
                var fixed = association
                fixed.lifecycle = .available
                try await save(fixed)
            default:
                break
            }
            if let repository = try? repository(for: association) {
                // Left behind, S3's lifecycle rules or the next start abort them.
                await logFailure(of: "aborting incomplete uploads under \(association.dataRepositoryPath)") {
                    try await repository.abortIncompleteWrites(prefix: association.location.prefix)
                }
            }
        }
    }

    // MARK: Event feeds and sweeps

    func startEventFeeds() {
        for association in associations()
        where !association.autoImport.isEmpty
            && (association.lifecycle == .available || association.lifecycle == .misconfigured)
        {
            Task {
                await self.logFailure(of: "starting the auto-import events of association \(association.id)") {
                    try await self.startFeed(for: association)
                }
            }
        }
    }

    func startFeed(for association: Association) async throws {
        let repository = try repository(for: association)
        guard let feed = try await repository.startEventFeed(name: association.feedName, prefix: association.location.prefix) else { return }
        guard options.background, !isClosed else { return }
        let id = association.id
        let task = Task { await self.poll(feed, association: id) }
        let previous = background.withLock { state -> Task<Void, Never>? in
            let old = state.feeds[id]
            state.feeds[id] = task
            return old
        }
        previous?.cancel()
    }

    func stopFeed(for association: Association, removeConfiguration: Bool) async {
        let task = background.withLock { $0.feeds.removeValue(forKey: association.id) }
        task?.cancel()
        if removeConfiguration, let repository = try? repository(for: association) {
            do {
                try await repository.stopEventFeed(name: association.feedName)
            } catch {
                logger.warning("removing the event feed of \(association.id) failed: \(error)")
            }
        }
    }

    /// Receives the association's events and applies them. Failures back off (up to 30 s) and the feed resumes
    /// when the endpoint answers again, with a reconciliation for what the outage hid; after three failures in
    /// a row the association is MISCONFIGURED with the reason, and AVAILABLE again once events flow. A queue that no longer exists (the endpoint restarted without
    /// it) is set up again with its notification entry, followed by a reconciliation for what was missed.
    func poll(_ initial: any RepositoryEventFeed, association id: String) async {
        var feed = initial
        var failures = 0
        while !Task.isCancelled && !isClosed {
            do {
                let batch: [(event: RepositoryEvent, receipt: String)]
                do {
                    batch = try await feed.receive(waitSeconds: options.eventWaitSeconds)
                } catch let lost as RepositoryError where lost.code == .feedLost {
                    feed = try await recreateFeed(association: id, because: lost)
                    continue
                }
                if failures > 0 {
                    if failures >= 3 { await markFeedRecovered(id) }
                    // A receive cut off by the outage may have taken messages that its caller never saw; they
                    // stay invisible for the queue's visibility timeout. A reconciliation finds their changes now.
                    await catchUp(id)
                }
                failures = 0
                guard !batch.isEmpty else { continue }
                let events = batch.map(\.event).filter { !$0.key.isEmpty }
                if !events.isEmpty {
                    let report = try await apply(events, to: id)
                    if report.created + report.updated + report.deleted > 0 {
                        logger.info("auto-import \(id): \(report.created) new, \(report.updated) changed, \(report.deleted) deleted")
                    }
                }
                try await feed.acknowledge(batch.map(\.receipt))
            } catch {
                if Task.isCancelled || isClosed { return }
                failures += 1
                logger.warning("auto-import events of \(id) failed (\(failures)): \(error)")
                if failures == 3, var association = try? self.association(id), association.lifecycle == .available {
                    association.lifecycle = .misconfigured
                    association.failureMessage = "auto-import stopped: \(error)"
                    await logFailure(of: "recording association \(id) as MISCONFIGURED") { try await save(association) }
                }
                try? await Task.sleep(nanoseconds: UInt64(min(30, failures * 2)) * 1_000_000_000)
            }
        }
    }

    /// Sets up an association's lost event feed again (queue and notification entry), reconciles what changed
    /// meanwhile, and returns the new feed.
    func recreateFeed(association id: String, because lost: RepositoryError) async throws -> any RepositoryEventFeed {
        let association = try self.association(id)
        logger.warning("auto-import of \(id): \(lost.message); setting up its queue and notification entry again")
        let repository = try repository(for: association)
        guard let feed = try await repository.startEventFeed(name: association.feedName, prefix: association.location.prefix) else {
            throw lost
        }
        await markFeedRecovered(id)
        let report = try await reconcile(id, allowed: association.autoImport)
        logger.warning(
            "auto-import of \(id): event feed set up again; \(report.created) new, \(report.updated) changed, \(report.deleted) deleted while it was lost"
        )
        return feed
    }

    /// Reconciles an association with its repository after its event feed was cut off.
    func catchUp(_ id: String) async {
        guard let association = try? self.association(id) else { return }
        do {
            let report = try await reconcile(id, allowed: association.autoImport)
            logger.info(
                "auto-import of \(id) is receiving events again; \(report.created) new, \(report.updated) changed, \(report.deleted) deleted meanwhile"
            )
        } catch {
            logger.warning("auto-import of \(id): catching up after the outage failed: \(error)")
        }
    }

    /// An association that auto-import failures made MISCONFIGURED is AVAILABLE again.
    func markFeedRecovered(_ id: String) async {
        guard var association = try? self.association(id), association.lifecycle == .misconfigured,
            association.failureMessage?.hasPrefix("auto-import stopped") == true
        else { return }
        association.lifecycle = .available
        association.failureMessage = nil
        await logFailure(of: "recording association \(id) as AVAILABLE") { try await save(association) }
        logger.info("auto-import of \(id) is receiving events again")
    }

    /// One reconciliation of every association with an AutoImportPolicy, for events that were lost. It also
    /// notices a removed notification configuration (MISCONFIGURED) and a restored one (AVAILABLE again).
    package func sweep() async {
        for association in associations()
        where !association.autoImport.isEmpty
            && (association.lifecycle == .available || association.lifecycle == .misconfigured)
        {
            do {
                let repository = try repository(for: association)
                let configured = try await repository.eventFeedConfigured(name: association.feedName)
                var current = try self.association(association.id)
                if !configured && current.lifecycle == .available {
                    current.lifecycle = .misconfigured
                    current.failureMessage =
                        "the bucket's event notification entry \(association.feedName) was removed; auto-import relies on the periodic sweep"
                    try await save(current)
                } else if configured && current.lifecycle == .misconfigured {
                    current.lifecycle = .available
                    current.failureMessage = nil
                    try await save(current)
                }
                let report = try await reconcile(association.id, allowed: association.autoImport)
                if report.created + report.updated + report.deleted > 0 {
                    logger.info("sweep \(association.id): \(report.created) new, \(report.updated) changed, \(report.deleted) deleted")
                }
            } catch {
                logger.warning("sweep of \(association.id) failed: \(error)")
            }
        }
    }

    func runSweeps(every seconds: Double) async {
        while !Task.isCancelled && !isClosed {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            if Task.isCancelled || isClosed { return }
            await sweep()
        }
    }
}

/// Runs calls one after another and hands each its own result: a check and the write it decides are never
/// interleaved with another call's.
actor RequestQueue {
    private var tail: Task<Void, Never>?

    func perform<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tail
        let next = Task<T, any Error> {
            await previous?.value
            return try await body()
        }
        tail = Task { _ = try? await next.value }
        return try await next.value
    }
}

/// Runs association requests one after another (FSx runs one DRA request at a time per file system).
actor SerialRunner {
    private var tail: Task<Void, Never>?

    func run(_ body: @escaping @Sendable () async -> Void) async {
        let previous = tail
        let next = Task {
            await previous?.value
            await body()
        }
        tail = next
        await next.value
    }
}
