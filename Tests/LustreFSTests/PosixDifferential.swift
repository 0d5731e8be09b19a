import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One file system operation of the differential test, on a path relative to a root.
enum PosixOperation: CustomStringConvertible, Sendable {
    case create(String, size: Int)
    case append(String, bytes: Int)
    case mkdir(String)
    case rmdir(String)
    case unlink(String)
    case rename(String, String)
    case link(String, String)
    case symlink(target: String, String)
    case chmod(String, UInt32)
    case truncate(String, Int)
    case mkfifo(String)
    case list(String)

    var description: String {
        switch self {
        case .create(let path, let size): "create \(path) \(size)"
        case .append(let path, let bytes): "append \(path) \(bytes)"
        case .mkdir(let path): "mkdir \(path)"
        case .rmdir(let path): "rmdir \(path)"
        case .unlink(let path): "unlink \(path)"
        case .rename(let from, let to): "rename \(from) \(to)"
        case .link(let from, let to): "link \(from) \(to)"
        case .symlink(let target, let path): "symlink \(target) \(path)"
        case .chmod(let path, let mode): "chmod \(String(mode, radix: 8)) \(path)"
        case .truncate(let path, let size): "truncate \(path) \(size)"
        case .mkfifo(let path): "mkfifo \(path)"
        case .list(let path): "ls \(path)"
        }
    }

    /// The paths whose state the operation may change (compared after it).
    var touched: [String] {
        switch self {
        case .create(let p, _), .append(let p, _), .mkdir(let p), .rmdir(let p), .unlink(let p), .chmod(let p, _), .truncate(let p, _),
            .mkfifo(let p), .list(let p):
            [p, Self.parent(p)]
        case .rename(let a, let b), .link(let a, let b): [a, b, Self.parent(a), Self.parent(b)]
        case .symlink(_, let p): [p, Self.parent(p)]
        }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// A random operation over a small set of names, so that operations meet (rename over, link to, remove
    /// what another made). Mostly valid, some that must fail the same way on both sides.
    static func random(_ generator: inout some RandomNumberGenerator) -> PosixOperation {
        let names = ["a", "b", "c", "d", "a/x", "a/y", "b/x", "b/z", "a/x/deep", "c/q"]
        func name() -> String { names.randomElement(using: &generator)! }
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<14: return .create(name(), size: Int.random(in: 0..<3000, using: &generator))
        case 14..<20: return .append(name(), bytes: Int.random(in: 1..<600, using: &generator))
        case 20..<34: return .mkdir(name())
        case 34..<40: return .rmdir(name())
        case 40..<50: return .unlink(name())
        case 50..<64: return .rename(name(), name())
        case 64..<70: return .link(name(), name())
        case 70..<75: return .symlink(target: name(), name())
        case 75..<82: return .chmod(name(), [0o600, 0o644, 0o755, 0o700, 0o444, 0o1777, 0o2755].randomElement(using: &generator)!)
        case 82..<88: return .truncate(name(), Int.random(in: 0..<4000, using: &generator))
        case 88..<92: return .mkfifo(name())
        default: return .list(name())
        }
    }
}

/// What one side answered: the call's errno (0 for success) and, for a listing, the names.
struct PosixOutcome: Equatable, CustomStringConvertible {
    var errno: Int32
    var names: [String]? = nil

    var description: String {
        (errno == 0 ? "ok" : String(cString: strerror(errno))) + (names.map { " \($0)" } ?? "")
    }
}

/// What lstat says of a path, the parts a local file system and the mount must agree on.
struct PosixState: Equatable, CustomStringConvertible {
    var exists: Bool
    var type: UInt32 = 0
    var mode: UInt32 = 0
    var nlink: UInt = 0
    /// Regular files and symlinks only (a directory's size is the file system's own business).
    var size: Int? = nil

    var description: String {
        guard exists else { return "absent" }
        let kind =
            switch type {
            case UInt32(S_IFREG): "file"
            case UInt32(S_IFDIR): "dir"
            case UInt32(S_IFLNK): "symlink"
            case UInt32(S_IFIFO): "fifo"
            default: "type \(String(type, radix: 8))"
            }
        return "\(kind) \(String(mode, radix: 8)) nlink \(nlink)" + (size.map { " size \($0)" } ?? "")
    }
}

/// Runs operations with system calls under one root directory.
struct PosixTree: Sendable {
    let root: String

    func full(_ path: String) -> String { path == "." ? root : root + "/" + path }

    func apply(_ operation: PosixOperation) -> PosixOutcome {
        func result(_ code: Int32) -> PosixOutcome { PosixOutcome(errno: code == 0 ? 0 : Glibc.errno) }
        switch operation {
        case .create(let path, let size):
            let fd = open(full(path), O_CREAT | O_WRONLY | O_TRUNC | O_NONBLOCK, 0o644)
            guard fd >= 0 else { return PosixOutcome(errno: Glibc.errno) }
            defer { close(fd) }
            return PosixOutcome(errno: writeAll(fd, count: size))
        case .append(let path, let bytes):
            let fd = open(full(path), O_WRONLY | O_APPEND | O_NONBLOCK)
            guard fd >= 0 else { return PosixOutcome(errno: Glibc.errno) }
            defer { close(fd) }
            return PosixOutcome(errno: writeAll(fd, count: bytes))
        case .mkdir(let path): return result(Glibc.mkdir(full(path), 0o755))
        case .rmdir(let path): return result(Glibc.rmdir(full(path)))
        case .unlink(let path): return result(Glibc.unlink(full(path)))
        case .rename(let from, let to): return result(Glibc.rename(full(from), full(to)))
        case .link(let from, let to): return result(Glibc.link(full(from), full(to)))
        case .symlink(let target, let path): return result(Glibc.symlink(target, full(path)))
        case .chmod(let path, let mode): return result(Glibc.chmod(full(path), mode))
        case .truncate(let path, let size): return result(Glibc.truncate(full(path), off_t(size)))
        case .mkfifo(let path): return result(Glibc.mkfifo(full(path), 0o644))
        case .list(let path):
            guard let directory = opendir(full(path)) else { return PosixOutcome(errno: Glibc.errno) }
            defer { closedir(directory) }
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            return PosixOutcome(errno: 0, names: names.sorted())
        }
    }

    func writeAll(_ fd: Int32, count: Int) -> Int32 {
        let bytes = [UInt8](repeating: 0x61, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, count - done) }
            if n < 0 { return Glibc.errno }
            done += n
        }
        return 0
    }

    func state(_ path: String) -> PosixState {
        var info = stat()
        guard lstat(full(path), &info) == 0 else { return PosixState(exists: false) }
        let type = info.st_mode & UInt32(S_IFMT)
        let sized = type == UInt32(S_IFREG) || type == UInt32(S_IFLNK)
        return PosixState(exists: true, type: type, mode: info.st_mode & 0o7777, nlink: UInt(info.st_nlink), size: sized ? Int(info.st_size) : nil)
    }

    /// Removes everything under the root (between replays of a shrinking run).
    func clear() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: root) {
            _ = Glibc.chmod(root + "/" + name, 0o755)
            try FileManager.default.removeItem(atPath: root + "/" + name)
        }
    }
}

/// Runs a sequence on every tree and reports the first step where a tree differs from the reference (the
/// first tree): the outcome of the call, or the state of a path it touched.
struct PosixDifferential: Sendable {
    let trees: [PosixTree]

    struct Mismatch: CustomStringConvertible, Sendable {
        var step: Int
        var what: String
        var description: String { "step \(step): \(what)" }
    }

    func run(_ operations: [PosixOperation]) -> Mismatch? {
        let reference = trees[0]
        for (index, operation) in operations.enumerated() {
            let expected = reference.apply(operation)
            for tree in trees.dropFirst() {
                let got = tree.apply(operation)
                if got != expected {
                    return Mismatch(step: index, what: "\(operation): \(tree.root) answered \(got), the reference \(expected)")
                }
            }
            for path in Set(operation.touched) {
                let expected = reference.state(path)
                for tree in trees.dropFirst() where tree.state(path) != expected {
                    return Mismatch(
                        step: index, what: "after \(operation): \(path) is \(tree.state(path)) in \(tree.root), \(expected) in the reference")
                }
            }
        }
        return nil
    }

    /// Shortens a failing sequence: drops steps (halves first, then one at a time) while it still fails,
    /// replaying from empty trees each time, within `budget` replays.
    func shrink(_ operations: [PosixOperation], budget: Int = 300) throws -> [PosixOperation] {
        var current = operations
        var replays = 0
        func fails(_ candidate: [PosixOperation]) throws -> Bool {
            replays += 1
            for tree in trees { try tree.clear() }
            return run(candidate) != nil
        }
        var chunk = max(1, current.count / 2)
        while chunk >= 1 && replays < budget {
            var start = 0
            var removedAny = false
            while start < current.count && replays < budget {
                var candidate = current
                candidate.removeSubrange(start..<min(current.count, start + chunk))
                if try fails(candidate) {
                    current = candidate
                    removedAny = true
                } else {
                    start += chunk
                }
            }
            if !removedAny { chunk /= 2 }
        }
        return current
    }
}
