import AWSCore
import ArgumentParser
import DataRepository
import Foundation
import HSM
import Logging
import LustreFS
import LustreMount
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

struct FileSystemOptionGroup: ParsableArguments {
    @Option(name: .customLong("fs-dir"), help: "The file system's directory (MDT, data cache).")
    var directory: String

    @Option(name: .customLong("capacity-gib"), help: "StorageCapacity in GiB.")
    var capacityGiB: Int64 = 1200

    @Option(name: .customLong("restore-chunk-mib"), help: "Size of a side fetch for a read far ahead of a running restore.")
    var restoreChunkMiB: Int64 = 8

    func open() async throws -> FileSystem {
        var options = FileSystemOptions(capacityBytes: capacityGiB << 30)
        options.restoreChunkBytes = restoreChunkMiB << 20
        // One-shot commands: queued work runs when asked (`export`), not behind the command's back.
        options.background = false
        options.sweepIntervalSeconds = nil
        return try await FileSystem.open(directory: directory, options: options, repositories: EnvironmentRepositories())
    }
}

/// Runs `body` on an open file system and closes it, turning errors into one line on stderr.
func withFileSystem(_ group: FileSystemOptionGroup, _ body: (FileSystem) async throws -> Int32) async throws {
    let fs: FileSystem
    do {
        fs = try await group.open()
    } catch {
        throw AdminFailure(message: "\(error)", code: 1)
    }
    let code: Int32
    do {
        code = try await body(fs)
    } catch {
        await fs.close()
        throw AdminFailure(message: "\(error)", code: 1)
    }
    await fs.close()
    if code != 0 { throw ExitCode(code) }
}

struct AdminFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { message }
}

@main
struct FSxAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsx-admin",
        abstract: "Operate a local Lustre-like file system without mounting it (the core as a command).",
        subcommands: [
            CreateAssociation.self, DescribeAssociations.self, Import.self, Export.self, Cat.self, Write.self,
            List.self, HSMStateCommand.self, HSMRelease.self, HSMRestore.self, HSMArchive.self, DF.self, Mount.self,
        ])

    static func main() async {
        // stdout carries file data (`cat`) and results; the core's log lines go to stderr.
        // FSX_ADMIN_LOG_LEVEL (trace ... critical) shows more, e.g. what each sweep and event imported.
        let level = ProcessInfo.processInfo.environment["FSX_ADMIN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as AdminFailure {
            FileHandle.standardError.write(Data("fsx-admin: \(failure.message)\n".utf8))
            Glibc.exit(failure.code)
        } catch {
            exit(withError: error)
        }
    }
}

func parseEvents(_ text: String?) throws -> Set<RepositoryEventType> {
    guard let text, !text.isEmpty else { return [] }
    return Set(
        try text.split(separator: ",").map { item in
            guard let event = RepositoryEventType(rawValue: item.uppercased()) else {
                throw ValidationError("'\(item)' is not an event type: use NEW, CHANGED, DELETED")
            }
            return event
        })
}

struct CreateAssociation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-association")
    @OptionGroup var fs: FileSystemOptionGroup
    @Option var fileSystemPath: String
    @Option var dataRepositoryPath: String
    @Flag var batchImport = false
    @Option(help: "NEW,CHANGED,DELETED") var autoImport: String?
    @Option(help: "NEW,CHANGED,DELETED") var autoExport: String?
    @Option(
        help:
            "Seconds a read of this association's released files may receive nothing before it fails with EIO (default: the file system's --read-timeout)."
    )
    var readTimeout: Double?

    func run() async throws {
        let request = AssociationRequest(
            fileSystemPath: fileSystemPath, dataRepositoryPath: dataRepositoryPath,
            batchImportMetaDataOnCreate: batchImport,
            autoImport: try parseEvents(autoImport), autoExport: try parseEvents(autoExport),
            readTimeoutSeconds: readTimeout)
        try await withFileSystem(fs) { fs in
            let created = try await fs.createAssociation(request)
            // Until it settles, however long its batch import takes: this process owns the file system, and
            // closing it would abandon the import (a million files take minutes).
            let settled = try await fs.waitForAssociation(created.id, timeout: 365 * 86_400) ?? created
            print(
                "\(settled.id) \(settled.lifecycle.rawValue) \(settled.fileSystemPath) \(settled.dataRepositoryPath)"
                    + (settled.failureMessage.map { " (\($0))" } ?? ""))
            return settled.lifecycle == .available ? 0 : 1
        }
    }
}

struct DescribeAssociations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe-associations")
    @OptionGroup var fs: FileSystemOptionGroup
    func run() async throws {
        try await withFileSystem(fs) { fs in
            for association in fs.associations() {
                print(
                    "\(association.id) \(association.lifecycle.rawValue) \(association.fileSystemPath) \(association.dataRepositoryPath)"
                        + (association.readTimeoutSeconds.map { " read-timeout=\(String(format: "%g", $0))s" } ?? ""))
            }
            return 0
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import metadata of every association from its repository.")
    @OptionGroup var fs: FileSystemOptionGroup
    func run() async throws {
        try await withFileSystem(fs) { fs in
            let started = Date()
            var total = 0
            for association in fs.associations() {
                let report = try await fs.reconcile(association.id, allowed: [.new, .changed, .deleted])
                total += report.created + report.updated
                print(
                    "\(association.fileSystemPath): \(report.created) new, \(report.updated) changed, \(report.deleted) deleted, \(report.skipped.count) skipped, \(report.conflicts.count) conflicts"
                )
                print(String(format: "  namespace in %.3f s, attributes in %.3f s", report.namespaceSeconds, report.totalSeconds))
                for (key, why) in report.skipped.sorted(by: { $0.key < $1.key }) { print("  skipped \(key): \(why)") }
            }
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "imported %d entries in %.3f s", total, seconds))
            return 0
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the queued exports now.")
    @OptionGroup var fs: FileSystemOptionGroup
    func run() async throws {
        try await withFileSystem(fs) { fs in
            try await fs.drainExports()
            print("exports done")
            return 0
        }
    }
}

struct Cat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a file's bytes to stdout (restoring a released file).")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var path: String
    func run() async throws {
        try await withFileSystem(fs) { fs in
            let inode = try await fs.resolve(path)
            let handle = try await fs.open(inode.ino, mode: .read)
            var offset: Int64 = 0
            while true {
                let data = try await fs.read(handle, offset: offset, count: 1 << 20)
                if data.isEmpty { break }
                FileHandle.standardOutput.write(data)
                offset += Int64(data.count)
            }
            await fs.release(handle)
            // Like the original, a read leaves the file restored: let the restore commit before exiting.
            try await fs.restore(inode.ino, wait: true)
            return 0
        }
    }
}

struct Write: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write stdin to a file (created or truncated); its export is queued at close.")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var path: String
    @Option var mode: String = "644"
    func run() async throws {
        try await withFileSystem(fs) { fs in
            let parentPath = (path as NSString).deletingLastPathComponent
            let name = (path as NSString).lastPathComponent
            let parent = try await fs.resolve(parentPath.isEmpty ? "/" : parentPath)
            let inode: Inode
            if let existing = try? await fs.lookup(parent: parent.ino, name: name) {
                inode = existing
            } else {
                inode = try await fs.makeNode(
                    parent: parent.ino, name: name, type: .regular, perm: UInt32(mode, radix: 8) ?? 0o644,
                    uid: getuid(), gid: getgid())
            }
            let handle = try await fs.open(inode.ino, mode: OpenMode(write: true, truncate: true))
            var offset: Int64 = 0
            while true {
                let data = FileHandle.standardInput.readData(ofLength: 1 << 20)
                if data.isEmpty { break }
                _ = try await fs.write(handle, offset: offset, data: data)
                offset += Int64(data.count)
            }
            try await fs.flush(handle, sync: true)
            await fs.release(handle)
            return 0
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a directory like ls -ln.")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var path: String = "/"
    func run() async throws {
        try await withFileSystem(fs) { fs in
            let directory = try await fs.resolve(path)
            for (name, inode) in try await fs.readDirectory(directory.ino) {
                print("\(String(inode.mode, radix: 8)) \(inode.uid) \(inode.gid) \(inode.size) \(name)")
            }
            return 0
        }
    }
}

/// The `lfs hsm_*` lines and errors, so a script sees what `lfs` prints.
func eachPath(_ fs: FileSystem, _ paths: [String], _ body: (String, Inode) async throws -> String?) async -> Int32 {
    var status: Int32 = 0
    for path in paths {
        do {
            let inode = try await fs.resolve(path)
            if let line = try await body(path, inode) { print(line) }
        } catch let error as FileSystemError {
            FileHandle.standardError.write(Data("\(error.message)\n".utf8))
            status = error.errno
        } catch {
            FileHandle.standardError.write(Data("\(path): \(error)\n".utf8))
            status = 1
        }
    }
    return status
}

struct HSMStateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hsm_state")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var paths: [String]
    func run() async throws {
        try await withFileSystem(fs) { fs in
            await eachPath(fs, paths) { path, inode in try await fs.hsmState(inode.ino).line(for: path) }
        }
    }
}

struct HSMRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hsm_release")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var paths: [String]
    func run() async throws {
        try await withFileSystem(fs) { fs in
            await eachPath(fs, paths) { _, inode in
                try await fs.hsmRelease(inode.ino); return nil
            }
        }
    }
}

struct HSMRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hsm_restore")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var paths: [String]
    func run() async throws {
        try await withFileSystem(fs) { fs in
            await eachPath(fs, paths) { _, inode in
                try await fs.restore(inode.ino, wait: true); return nil
            }
        }
    }
}

struct HSMArchive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hsm_archive")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var paths: [String]
    func run() async throws {
        try await withFileSystem(fs) { fs in
            await eachPath(fs, paths) { _, inode in
                try await fs.hsmArchive(inode.ino, wait: true); return nil
            }
        }
    }
}

struct DF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df")
    @OptionGroup var fs: FileSystemOptionGroup
    func run() async throws {
        try await withFileSystem(fs) { fs in
            let usage = try await fs.usage()
            print("capacity \(usage.capacityBytes) used \(usage.usedBytes) available \(usage.availableBytes) inodes \(usage.inodes)")
            return 0
        }
    }
}

struct Mount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount the file system (FUSE) and serve it until unmounted or sent SIGTERM/SIGINT.")
    @OptionGroup var fs: FileSystemOptionGroup
    @Argument var mountpoint: String
    @Option(help: "Seconds between reconciliation sweeps of associations with an AutoImportPolicy.")
    var sweepSeconds: Double = 300
    @Option(help: "Seconds a read of a released file may wait with no data arriving before it fails with EIO.")
    var readTimeout: Double = 60

    func run() async throws {
        guard readTimeout > 0 else { throw AdminFailure(message: "--read-timeout must be more than 0 seconds", code: 2) }
        var options = FileSystemOptions(capacityBytes: fs.capacityGiB << 30)
        options.restoreChunkBytes = fs.restoreChunkMiB << 20
        options.sweepIntervalSeconds = sweepSeconds
        options.readStallSeconds = readTimeout
        let system: FileSystem
        do {
            system = try await FileSystem.open(directory: fs.directory, options: options, repositories: EnvironmentRepositories())
        } catch {
            throw AdminFailure(message: "\(error)", code: 1)
        }
        // Served until unmounted or sent SIGTERM/SIGINT, which unmount cleanly: queued exports stay queued in the MDT.
        let directory = fs.directory
        let mountpoint = mountpoint
        let service = FuseMountService(fs: system, mountpoint: mountpoint) { _ in
            FileHandle.standardError.write(Data("fsx-admin: \(directory) mounted on \(mountpoint)\n".utf8))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [ServiceGroupConfiguration.ServiceConfiguration(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "fsx-admin")))
        do {
            try await group.run()
        } catch {
            await system.close()
            throw AdminFailure(message: "\(error)", code: 1)
        }
        _ = try? await system.waitForExports(timeout: 10)
        await system.close()
    }
}
