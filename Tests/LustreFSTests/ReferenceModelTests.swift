import DataRepository
import Foundation
import HSM
import LustreFS
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Random sequences of namespace, data and HSM operations run through the core (an association with auto-export
/// on a local-directory repository) and through a plain in-memory model of what a file system must hold; after
/// every step the two must agree on names, types, modes, sizes and contents. With faults injected into the
/// repository (errors, throttling, broken reads), only reads that need the repository may fail, and only with
/// EIO; nothing may be lost: once the faults stop, every export completes and the repository holds exactly the
/// model, and a reopened file system still does.
///
/// `MODEL_TRIALS` sets the number of seeds (default 3); a failure names its seed and the steps so far, and
/// `MODEL_SEED` replays one seed.
@Suite struct ReferenceModelTests {
    @Test func theCoreAgreesWithTheModel() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seeds: [UInt64] =
            environment["MODEL_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? Array(1...UInt64(environment["MODEL_TRIALS"].flatMap(Int.init) ?? 3))
        for seed in seeds {
            // Seed 1 runs without faults: the model alone decides every answer.
            let plan =
                seed == 1
                ? FaultyRepository.Plan.none
                : FaultyRepository.Plan(errorRate: 0.15, throttleRate: 0.05, cutRate: 0.1)
            try await ModelRun(seed: seed, steps: 60, plan: plan).run()
        }
    }
}

/// What the file system must hold under the association, by path relative to it.
struct ReferenceModel {
    var files: [String: (data: Data, perm: UInt32)] = [:]
    var directories: Set<String> = []

    func exists(_ path: String) -> Bool { files[path] != nil || directories.contains(path) }
    func children(of directory: String) -> [String] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        return (Array(files.keys) + Array(directories)).filter {
            $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") && $0 != directory
        }
    }
    /// Every entry as the tree walk reports it: type, permission bits, size.
    var listing: [String: String] {
        var result: [String: String] = [:]
        for (path, file) in files { result[path] = "file \(String(file.perm, radix: 8)) \(file.data.count)" }
        for path in directories { result[path] = "dir" }
        return result
    }
}

enum ModelStep: CustomStringConvertible {
    case write(String, size: Int, fill: UInt8)
    case mkdir(String)
    case unlink(String)
    case rmdir(String)
    case rename(String, String)
    case chmod(String, UInt32)
    case truncate(String, Int)
    case release(String)
    case read(String)
    case settle

    var description: String {
        switch self {
        case .write(let path, let size, let fill): "write \(path) \(size)×\(fill)"
        case .mkdir(let path): "mkdir \(path)"
        case .unlink(let path): "unlink \(path)"
        case .rmdir(let path): "rmdir \(path)"
        case .rename(let from, let to): "rename \(from) \(to)"
        case .chmod(let path, let perm): "chmod \(String(perm, radix: 8)) \(path)"
        case .truncate(let path, let size): "truncate \(path) \(size)"
        case .release(let path): "hsm_release \(path)"
        case .read(let path): "read \(path)"
        case .settle: "wait for exports"
        }
    }
}

struct ModelRun {
    let seed: UInt64
    let steps: Int
    let plan: FaultyRepository.Plan

    func run() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let faulty = Locked<FaultyRepository?>(nil)
        let repositories = TestRepositories(wrap: { base in
            faulty.withLock { current in
                if current == nil { current = FaultyRepository(base, seed: seed) }
                return current!
            }
        })
        var options = testOptions()
        options.readStallSeconds = 10
        var fs = try await FileSystem.open(directory: scratch.sub("fs"), options: options, repositories: repositories)
        _ = try await fs.associate("/dra", "file://\(repo)")
        let repository = try #require(faulty.withLock { $0 })
        repository.setPlan(plan)

        var model = ReferenceModel()
        var generator = SplitMix64(seed: seed)
        var history: [String] = []
        func context() -> Comment { "seed \(seed) after: \(history.joined(separator: "; "))" }

        for _ in 0..<steps {
            let step = Self.nextStep(model, &generator)
            history.append(step.description)
            try await apply(
                step, to: fs, model: &model, faultsOn: plan.errorRate + plan.throttleRate + plan.cutRate > 0,
                context: context())
            let listing = try await Self.listing(fs)
            #expect(
                listing == model.listing,
                """
                core has \(listing.filter { model.listing[$0.key] != $0.value }.sorted { $0.key < $1.key }) where the model has \
                \(model.listing.filter { listing[$0.key] != $0.value }.sorted { $0.key < $1.key }); \(context())
                """)
            if listing != model.listing { break }
        }

        // The faults stop: every export must complete, and the repository must hold the model exactly.
        repository.setPlan(.none)
        #expect(try await fs.waitForExports(timeout: 120), context())
        try await expectContents(fs, model, context())
        let inRepository = try Self.repositoryListing(repo)
        let expected = model.listing.mapValues { $0 == "dir" ? "dir" : "file" }
        #expect(
            inRepository == expected,
            """
            repository has \(inRepository.filter { expected[$0.key] != $0.value }.keys.sorted()) beyond the model and lacks \
            \(expected.filter { inRepository[$0.key] != $0.value }.keys.sorted()); \(context())
            """)
        for (path, file) in model.files {
            #expect(FileManager.default.contents(atPath: repo + "/" + path) == file.data, "\(path): \(context())")
        }
        // Nothing depends on this process's memory: a reopened file system holds the same.
        await fs.close()
        fs = try await FileSystem.open(directory: scratch.path + "/fs", options: options, repositories: repositories)
        #expect(try await Self.listing(fs) == model.listing, context())
        try await expectContents(fs, model, context())
        await fs.close()
        if plan.errorRate > 0 {
            // The run must have met faults, or it proved nothing about them.
            #expect(!repository.injected.isEmpty, context())
        }
    }

    func apply(_ step: ModelStep, to fs: FileSystem, model: inout ReferenceModel, faultsOn: Bool, context: Comment) async throws {
        func absolute(_ path: String) -> String { "/dra/" + path }
        func parentAndName(_ path: String) async throws -> (InodeNumber, String) {
            let parent = (path as NSString).deletingLastPathComponent
            return (try await fs.resolve(parent.isEmpty ? "/dra" : absolute(parent)).ino, (path as NSString).lastPathComponent)
        }
        /// A call that may need the repository (a restore) may fail with EIO while faults are on, and must then
        /// change nothing; otherwise it must succeed.
        func needingRepository(_ path: String, _ body: () async throws -> Void) async throws -> Bool {
            let released = try await fs.resolve(absolute(path)).isReleased
            do {
                try await body()
                return true
            } catch let error as FileSystemError where faultsOn && released && error.errno == EIO {
                return false
            }
        }
        switch step {
        case .write(let path, let size, let fill):
            let data = Data(repeating: fill, count: size)
            try await fs.writeFile(absolute(path), data)
            model.files[path] = (data, model.files[path]?.perm ?? 0o644)
        case .mkdir(let path):
            if model.exists(path) {
                #expect(await errno { try await fs.mkdir(absolute(path)) } == EEXIST, context)
            } else {
                try await fs.mkdir(absolute(path))
                model.directories.insert(path)
            }
        case .unlink(let path):
            let (parent, name) = try await parentAndName(path)
            if model.files[path] == nil {
                #expect(
                    await errno { try await fs.remove(parent: parent, name: name, directory: false) } == (model.exists(path) ? EISDIR : ENOENT),
                    context)
            } else {
                try await fs.remove(parent: parent, name: name, directory: false)
                model.files[path] = nil
            }
        case .rmdir(let path):
            let (parent, name) = try await parentAndName(path)
            if !model.children(of: path).isEmpty {
                #expect(await errno { try await fs.remove(parent: parent, name: name, directory: true) } == ENOTEMPTY, context)
            } else {
                try await fs.remove(parent: parent, name: name, directory: true)
                model.directories.remove(path)
            }
        case .rename(let from, let to):
            let (parent, name) = try await parentAndName(from)
            let (newParent, newName) = try await parentAndName(to)
            try await fs.rename(parent: parent, name: name, newParent: newParent, newName: newName)
            if let file = model.files.removeValue(forKey: from) {
                model.files[to] = file
            } else {
                // A directory moves with everything under it.
                for path in model.directories.filter({ $0 == from || $0.hasPrefix(from + "/") }) {
                    model.directories.remove(path)
                    model.directories.insert(to + path.dropFirst(from.count))
                }
                for (path, file) in model.files where path.hasPrefix(from + "/") {
                    model.files[path] = nil
                    model.files[to + path.dropFirst(from.count)] = file
                }
            }
        case .chmod(let path, let perm):
            _ = try await fs.setAttributes(try await fs.resolve(absolute(path)).ino, AttributeChanges(perm: perm))
            model.files[path]?.perm = perm
        case .truncate(let path, let size):
            let ino = try await fs.resolve(absolute(path)).ino
            if try await needingRepository(path, { _ = try await fs.setAttributes(ino, AttributeChanges(size: Int64(size))) }) {
                var data = model.files[path]!.data
                if size < data.count { data = data.prefix(size) } else { data.append(Data(count: size - data.count)) }
                model.files[path]?.data = data
            }
        case .release(let path):
            // Succeeds only once the file's export is current, which the model does not predict: either way the
            // file's contents stay what they are.
            _ = await errno { try await fs.hsmRelease(try await fs.resolve(absolute(path)).ino) }
        case .read(let path):
            _ = try await needingRepository(path) {
                let data = try await fs.readFile(absolute(path), chunk: 4096)
                #expect(data == model.files[path]?.data, "\(path): \(context)")
            }
        case .settle:
            _ = try await fs.waitForExports(timeout: 30)
        }
    }

    func expectContents(_ fs: FileSystem, _ model: ReferenceModel, _ context: Comment) async throws {
        for (path, file) in model.files.sorted(by: { $0.key < $1.key }) {
            #expect(try await fs.readFile("/dra/" + path) == file.data, "\(path): \(context)")
        }
    }

    /// The core's view of the association's tree, in the model's terms.
    static func listing(_ fs: FileSystem) async throws -> [String: String] {
        var result: [String: String] = [:]
        var pending: [(String, InodeNumber)] = [("", try await fs.resolve("/dra").ino)]
        while let (path, ino) = pending.popLast() {
            for (name, inode) in try await fs.readDirectory(ino) where name != "." && name != ".." {
                let child = path.isEmpty ? name : path + "/" + name
                switch inode.type {
                case .directory:
                    result[child] = "dir"
                    pending.append((child, inode.ino))
                default:
                    result[child] = "file \(String(inode.perm, radix: 8)) \(inode.size)"
                }
            }
        }
        return result
    }

    /// The repository directory's files and directories (its metadata side files aside).
    static func repositoryListing(_ root: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            if path == ".fsx-metadata" || path.hasPrefix(".fsx-metadata/") { continue }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            result[path] = isDirectory.boolValue ? "dir" : "file"
        }
        return result
    }

    /// A step that fits the model's state (mostly valid; some that must fail with a known error).
    static func nextStep(_ model: ReferenceModel, _ generator: inout SplitMix64) -> ModelStep {
        let names = ["a", "b", "c", "d"]
        let files = model.files.keys.sorted()
        let directories = model.directories.sorted()
        func pick<T>(_ items: [T]) -> T { items[Int(generator.next() % UInt64(items.count))] }
        func newPath() -> String {
            let parent = directories.isEmpty || generator.next() % 3 == 0 ? "" : pick(directories)
            let name = pick(names) + String(generator.next() % 3)
            return parent.isEmpty ? name : parent + "/" + name
        }
        let roll = generator.next() % 100
        switch roll {
        case 0..<22:
            // A new file, or a rewrite of an existing one; never over a directory.
            let path = !files.isEmpty && roll < 8 ? pick(files) : newPath()
            if model.directories.contains(path) { return .read(files.first ?? path).fallback(model) }
            return .write(
                path, size: Int(generator.next() % 3) == 0 ? Int(generator.next() % 300_000) : Int(generator.next() % 5000),
                fill: UInt8(generator.next() % 256))
        case 22..<30:
            let path = newPath()
            return model.files[path] != nil ? .unlink(path) : .mkdir(path)
        case 30..<38 where !files.isEmpty:
            return .unlink(pick(files))
        case 38..<43 where !directories.isEmpty:
            return .rmdir(pick(directories))
        case 43..<53 where !files.isEmpty:
            let source = pick(files)
            let target = newPath()
            // A file replaces a file or takes a free name; never a directory or a name under itself.
            if model.directories.contains(target) || target == source { return .read(source) }
            return .rename(source, target)
        case 53..<57 where !directories.isEmpty:
            let source = pick(directories)
            let name = pick(names) + "r" + String(generator.next() % 3)
            let target = name
            if model.exists(target) || target.hasPrefix(source + "/") || target == source { return .settle }
            return .rename(source, target)
        case 57..<62 where !files.isEmpty:
            return .chmod(pick(files), [0o600, 0o640, 0o644, 0o755][Int(generator.next() % 4)])
        case 62..<68 where !files.isEmpty:
            return .truncate(pick(files), Int(generator.next() % 6000))
        case 68..<80 where !files.isEmpty:
            return .release(pick(files))
        case 80..<95 where !files.isEmpty:
            return .read(pick(files))
        case 95..<100:
            return .settle
        default:
            return .write(newPath(), size: Int(generator.next() % 4000), fill: UInt8(generator.next() % 256)).fallback(model)
        }
    }
}

extension ModelStep {
    /// A write that would land on a directory becomes a wait, so every generated step is meaningful.
    func fallback(_ model: ReferenceModel) -> ModelStep {
        switch self {
        case .write(let path, _, _) where model.directories.contains(path): .settle
        case .read(let path) where model.files[path] == nil: .settle
        default: self
        }
    }
}
