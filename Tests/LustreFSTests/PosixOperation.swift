import Foundation

/// A time argument of utimensat: the current time, left alone, or seconds since the epoch (with nanoseconds,
/// so that precision is checked too).
enum PosixTime: Equatable, Sendable, CustomStringConvertible {
    case now
    case omit
    case at(Int64)

    var description: String {
        switch self {
        case .now: "now"
        case .omit: "omit"
        case .at(let nanoseconds): "\(nanoseconds)ns"
        }
    }
}

/// One file system operation of the differential test, on paths relative to a root.
enum PosixOperation: CustomStringConvertible, Sendable {
    case create(String, size: Int, mode: UInt32)
    case createExclusive(String)
    case write(String, offset: Int, bytes: Int, append: Bool)
    case read(String)
    case mkdir(String, mode: UInt32)
    case rmdir(String)
    case unlink(String)
    case rename(String, String, flags: UInt32)
    case link(String, String)
    case symlink(target: String, String)
    case chmod(String, UInt32)
    case chown(String, uid: UInt32?, gid: UInt32?)
    case truncate(String, Int)
    case mkfifo(String)
    case mknod(String)
    case list(String)
    case utimens(String, atime: PosixTime, mtime: PosixTime)
    case setxattr(String, name: String, bytes: Int, flags: Int32)
    case removexattr(String, name: String)
    case getxattr(String, name: String)
    case fallocate(String, mode: Int32, offset: Int, length: Int)

    static let renameNoReplace: UInt32 = 1
    static let renameExchange: UInt32 = 2

    var description: String {
        func show(_ path: String) -> String {
            path.split(separator: "/").map { $0.count > 20 ? "n×\($0.count)" : String($0) }.joined(separator: "/")
        }
        func octal(_ mode: UInt32) -> String { String(mode, radix: 8) }
        switch self {
        case .create(let path, let size, let mode): return "create \(show(path)) \(size) \(octal(mode))"
        case .createExclusive(let path): return "create-exclusive \(show(path))"
        case .write(let path, let offset, let bytes, let append):
            return append ? "append \(show(path)) \(bytes)" : "write \(show(path)) \(bytes)@\(offset)"
        case .read(let path): return "read \(show(path))"
        case .mkdir(let path, let mode): return "mkdir \(show(path)) \(octal(mode))"
        case .rmdir(let path): return "rmdir \(show(path))"
        case .unlink(let path): return "unlink \(show(path))"
        case .rename(let from, let to, let flags):
            let name = flags == Self.renameNoReplace ? "rename-noreplace" : flags == Self.renameExchange ? "rename-exchange" : "rename"
            return "\(name) \(show(from)) \(show(to))"
        case .link(let from, let to): return "link \(show(from)) \(show(to))"
        case .symlink(let target, let path): return "symlink \(show(target)) \(show(path))"
        case .chmod(let path, let mode): return "chmod \(octal(mode)) \(show(path))"
        case .chown(let path, let uid, let gid): return "chown \(uid.map(String.init) ?? "-"):\(gid.map(String.init) ?? "-") \(show(path))"
        case .truncate(let path, let size): return "truncate \(show(path)) \(size)"
        case .mkfifo(let path): return "mkfifo \(show(path))"
        case .mknod(let path): return "mknod \(show(path)) c 1 3"
        case .list(let path): return "ls \(show(path))"
        case .utimens(let path, let atime, let mtime): return "utimens \(show(path)) atime \(atime) mtime \(mtime)"
        case .setxattr(let path, let name, let bytes, let flags): return "setxattr \(show(path)) \(name) \(bytes) bytes flags \(flags)"
        case .removexattr(let path, let name): return "removexattr \(show(path)) \(name)"
        case .getxattr(let path, let name): return "getxattr \(show(path)) \(name)"
        case .fallocate(let path, let mode, let offset, let length): return "fallocate \(show(path)) mode \(mode) \(length)@\(offset)"
        }
    }

    /// The paths whose state the operation may change (compared after it, timestamps included).
    var touched: [String] {
        switch self {
        case .create(let p, _, _), .createExclusive(let p), .write(let p, _, _, _), .read(let p), .mkdir(let p, _), .rmdir(let p),
            .unlink(let p), .chmod(let p, _), .chown(let p, _, _), .truncate(let p, _), .mkfifo(let p), .mknod(let p), .list(let p),
            .utimens(let p, _, _), .setxattr(let p, _, _, _), .removexattr(let p, _), .getxattr(let p, _), .fallocate(let p, _, _, _),
            .symlink(_, let p):
            [p, Self.parent(p)]
        case .rename(let a, let b, _), .link(let a, let b): [a, b, Self.parent(a), Self.parent(b)]
        }
    }

    /// Whether the step may change extended attributes (their names are compared only then: listing them
    /// asks the mount every time, where the kernel answers lstat from its cache).
    var changesAttributes: Bool {
        switch self {
        case .setxattr, .removexattr, .getxattr, .create, .rename, .link: true
        default: false
        }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// A small set of names, so that operations meet (rename over, link to, remove what another made), and
    /// names at and just over the 255-byte limit.
    static let names = [
        "a", "b", "c", "d", "a/x", "a/y", "b/x", "b/z", "a/x/deep", "c/q", String(repeating: "n", count: 255),
        "b/" + String(repeating: "m", count: 256),
    ]

    /// A random operation: mostly valid, some that must fail the same way on both sides.
    static func random(_ generator: inout some RandomNumberGenerator) -> PosixOperation {
        func name() -> String { names.randomElement(using: &generator)! }
        func pick<T>(_ choices: [T]) -> T { choices.randomElement(using: &generator)! }
        func number(_ range: Range<Int>) -> Int { Int.random(in: range, using: &generator) }
        func time() -> PosixTime { pick([.now, .omit, .at(Int64(number(0..<2_000_000_000)) * 1_000_000_000 + Int64(number(0..<1_000_000_000)))]) }
        switch number(0..<100) {
        case 0..<10: return .create(name(), size: number(0..<3000), mode: pick([0o644, 0o600, 0o666, 0o755, 0o640]))
        case 10..<12: return .createExclusive(name())
        case 12..<18: return .write(name(), offset: number(0..<5000), bytes: number(1..<600), append: pick([true, false]))
        case 18..<23: return .read(name())
        case 23..<32: return .mkdir(name(), mode: pick([0o755, 0o777, 0o700, 0o1777, 0o2775]))
        case 32..<36: return .rmdir(name())
        case 36..<42: return .unlink(name())
        case 42..<52: return .rename(name(), name(), flags: pick([0, 0, renameNoReplace, renameExchange]))
        case 52..<56: return .link(name(), name())
        case 56..<60: return .symlink(target: name(), name())
        case 60..<66: return .chmod(name(), pick([0o600, 0o644, 0o755, 0o700, 0o444, 0o1777, 0o2755, 0o4755, 0o6777, 0o2745, 0o777]))
        case 66..<70: return .chown(name(), uid: pick([nil, 0, PosixUser.uid]), gid: pick([nil, 0, PosixUser.gid, PosixUser.otherGroup]))
        case 70..<74: return .truncate(name(), number(0..<4000))
        case 74..<76: return .mkfifo(name())
        case 76..<77: return .mknod(name())
        case 77..<81: return .list(name())
        case 81..<86: return .utimens(name(), atime: time(), mtime: time())
        case 86..<90: return .setxattr(name(), name: pick(["user.a", "user.b"]), bytes: number(0..<300), flags: pick([0, 0, 1, 2]))
        case 90..<92: return .removexattr(name(), name: pick(["user.a", "user.b"]))
        case 92..<94: return .getxattr(name(), name: pick(["user.a", "user.b"]))
        default:
            return .fallocate(name(), mode: pick([0, 1, 3]), offset: number(0..<5000), length: number(1..<3000))
        }
    }
}

/// The unprivileged user some steps run as: its own group plus one more it belongs to.
enum PosixUser {
    static let uid: UInt32 = 1000
    static let gid: UInt32 = 1000
    static let otherGroup: UInt32 = 1001
}

/// One step: an operation and whether it runs as the unprivileged user rather than root.
struct PosixStep: CustomStringConvertible, Sendable {
    var operation: PosixOperation
    var asUser: Bool

    var description: String { (asUser ? "[user] " : "") + operation.description }

    static func random(_ generator: inout some RandomNumberGenerator) -> PosixStep {
        let operation = PosixOperation.random(&generator)
        return PosixStep(operation: operation, asUser: Int.random(in: 0..<100, using: &generator) < 30)
    }
}
