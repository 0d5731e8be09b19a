import CFuseShim
import Foundation
import HSM
import LfsProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `lfs`: the Lustre commands the seed uses, over a lustrefs mount. It reaches the file system through the
/// virtual extended attributes of `LfsAttribute` (see Xattrs.swift), so it works for any user on any path
/// the kernel lets them reach. Output and exit codes follow Lustre's lfs: one line per file, errors on
/// stderr, and the errno of the last failure as the exit status.
///
/// The argument parsing is written by hand because lfs's command line (`lfs hsm_set --norelease f`,
/// `lfs df -h`) mixes subcommand-specific flags in Lustre's own way.
@main
struct Lfs {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard let command = arguments.first else {
            usage()
            exit(EINVAL)
        }
        arguments.removeFirst()
        let status: Int32
        switch command {
        case "hsm_state": status = hsmState(arguments)
        case "hsm_action": status = hsmAction(arguments)
        case "hsm_archive": status = hsmRequest(.archive, arguments)
        case "hsm_release": status = hsmRequest(.release, arguments)
        case "hsm_restore": status = hsmRequest(.restore, arguments)
        case "hsm_remove": status = hsmRequest(.remove, arguments)
        case "hsm_set": status = hsmFlags(set: true, arguments)
        case "hsm_clear": status = hsmFlags(set: false, arguments)
        case "df": status = df(arguments)
        case "help", "--help", "-h":
            usage()
            status = 0
        default:
            FileHandle.standardError.write(Data("lfs: unknown command '\(command)'\n".utf8))
            usage()
            status = EINVAL
        }
        exit(status)
    }

    static func usage() {
        print(
            """
            usage: lfs <command> [options] FILE...
              hsm_state [--filelist LIST] FILE...      show the HSM state of files
              hsm_action [--filelist LIST] FILE...     show the HSM action running on files
              hsm_archive [-a ID] [--filelist LIST] FILE...
              hsm_release [--filelist LIST] FILE...
              hsm_restore [--filelist LIST] FILE...
              hsm_remove [--filelist LIST] FILE...
              hsm_set|hsm_clear [--norelease] [--noarchive] [--dirty] [--exists] [--archived] [--lost]
                        [--archive-id ID] [--filelist LIST] FILE...
              df [-h] [PATH]                           space of each target and the file system
            """)
    }

    static func fail(_ command: String, _ message: String, _ code: Int32) -> Int32 {
        FileHandle.standardError.write(Data("lfs \(command): \(message)\n".utf8))
        return code
    }

    /// FILE arguments plus the lines of `--filelist LIST`; other options are returned for the caller.
    static func files(_ arguments: [String], command: String, options: inout [String: String?], known: Set<String>) -> [String]? {
        var files: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--filelist" || argument.hasPrefix("--filelist=") {
                let list: String
                if argument.hasPrefix("--filelist=") {
                    list = String(argument.dropFirst("--filelist=".count))
                } else {
                    index += 1
                    guard index < arguments.count else { _ = fail(command, "--filelist needs a file name", EINVAL); return nil }
                    list = arguments[index]
                }
                guard let text = try? String(contentsOfFile: list, encoding: .utf8) else {
                    _ = fail(command, "cannot read file list '\(list)': \(String(cString: strerror(errno)))", ENOENT)
                    return nil
                }
                files += text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            } else if argument.hasPrefix("-") && argument != "-" {
                let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
                guard known.contains(name) else { _ = fail(command, "unknown option '\(argument)'", EINVAL); return nil }
                if name == "-a" || name == "--archive" || name == "--archive-id" {
                    if argument.contains("=") {
                        options[name] = String(argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[1])
                    } else {
                        index += 1
                        guard index < arguments.count else { _ = fail(command, "\(name) needs a value", EINVAL); return nil }
                        options[name] = arguments[index]
                    }
                } else {
                    options[name] = .some(nil)
                }
            } else {
                files.append(argument)
            }
            index += 1
        }
        if files.isEmpty { _ = fail(command, "no file given", EINVAL); return nil }
        return files
    }

    struct Errno: Error { var code: Int32 }

    static func getAttribute(_ path: String, _ name: String) -> Result<String, Errno> {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = getxattr(path, name, &buffer, buffer.count - 1)
        guard count >= 0 else { return .failure(Errno(code: errno == ENODATA || errno == EOPNOTSUPP ? ENOTTY : errno)) }
        return .success(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    static func setAttribute(_ path: String, _ name: String, _ value: String) -> Int32 {
        let result = value.withCString { setxattr(path, name, $0, strlen($0), 0) }
        guard result != 0 else { return 0 }
        return errno == EOPNOTSUPP ? ENOTTY : errno
    }

    static func message(_ code: Int32) -> String {
        code == ENOTTY ? "not on a lustrefs file system (Inappropriate ioctl for device)" : String(cString: strerror(code))
    }

    static func hsmState(_ arguments: [String]) -> Int32 {
        var options: [String: String?] = [:]
        guard let paths = files(arguments, command: "hsm_state", options: &options, known: []) else { return EINVAL }
        var status: Int32 = 0
        for path in paths {
            switch getAttribute(path, LfsAttribute.state) {
            case .success(let text):
                print(LfsValue.state(text).line(for: path))
            case .failure(let error):
                let code = error.code
                status = fail("hsm_state", "cannot get HSM state of '\(path)': \(message(code)) (\(code))", code)
            }
        }
        return status
    }

    static func hsmAction(_ arguments: [String]) -> Int32 {
        var options: [String: String?] = [:]
        guard let paths = files(arguments, command: "hsm_action", options: &options, known: []) else { return EINVAL }
        var status: Int32 = 0
        for path in paths {
            switch getAttribute(path, LfsAttribute.action) {
            case .success(let text):
                print(LfsValue.action(text).line(for: path))
            case .failure(let error):
                let code = error.code
                status = fail("hsm_action", "cannot get HSM action of '\(path)': \(message(code)) (\(code))", code)
            }
        }
        return status
    }

    static func hsmRequest(_ hsmRequest: LfsRequest, _ arguments: [String]) -> Int32 {
        let request = hsmRequest.encoded
        var options: [String: String?] = [:]
        let known: Set<String> = hsmRequest == .archive ? ["-a", "--archive"] : []
        guard let paths = files(arguments, command: "hsm_\(request)", options: &options, known: known) else { return EINVAL }
        var status: Int32 = 0
        for path in paths {
            let code = setAttribute(path, LfsAttribute.request, request)
            if code != 0 {
                status = fail("hsm_\(request)", "cannot \(request) '\(path)': \(message(code)) (\(code))", code)
            }
        }
        return status
    }

    static func hsmFlags(set: Bool, _ arguments: [String]) -> Int32 {
        let command = set ? "hsm_set" : "hsm_clear"
        let names: [String: HSMFlags] = [
            "--norelease": .noRelease, "--noarchive": .noArchive, "--dirty": .dirty,
            "--exists": .exists, "--archived": .archived, "--lost": .lost,
        ]
        var options: [String: String?] = [:]
        guard
            let paths = files(
                arguments, command: command, options: &options,
                known: Set(names.keys).union(["--archive-id"]))
        else { return EINVAL }
        var flags: HSMFlags = []
        for (name, flag) in names where options[name] != nil { flags.insert(flag) }
        var archiveId: UInt32?
        if let given = options["--archive-id"] ?? nil {
            guard let id = UInt32(given) else { return fail(command, "invalid archive id '\(given)'", EINVAL) }
            archiveId = id
        }
        guard !flags.isEmpty || archiveId != nil else { return fail(command, "no flag given", EINVAL) }
        let request = LfsRequest.set(setting: set ? flags : [], clearing: set ? [] : flags, archiveId: archiveId).encoded
        var status: Int32 = 0
        for path in paths {
            let code = setAttribute(path, LfsAttribute.request, request)
            if code != 0 { status = fail(command, "cannot change the HSM flags of '\(path)': \(message(code)) (\(code))", code) }
        }
        return status
    }

    // MARK: df

    struct Mount { var device: String; var path: String }

    static func lustrefsMounts() -> [Mount] {
        // Through FileHandle: Foundation's String(contentsOfFile:) stops at 4 KiB of a /proc file, whose size is 0,
        // and a machine with many mounts has a longer table.
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/mounts")?.readToEnd() else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 3, fields[2] == "fuse.lustrefs" else { return nil }
            return Mount(device: String(fields[0]), path: String(fields[1]).replacingOccurrences(of: "\\040", with: " "))
        }
    }

    static func df(_ arguments: [String]) -> Int32 {
        var human = false
        var paths: [String] = []
        for argument in arguments {
            if argument == "-h" || argument == "--human-readable" {
                human = true
            } else if argument.hasPrefix("-") {
                return fail("df", "unknown option '\(argument)'", EINVAL)
            } else {
                paths.append(argument)
            }
        }
        var mounts = lustrefsMounts()
        if !paths.isEmpty {
            mounts = paths.compactMap { path in
                let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path
                let real = URL(fileURLWithPath: resolved).standardizedFileURL.path
                return mounts.filter { real == $0.path || real.hasPrefix($0.path + "/") }.max { $0.path.count < $1.path.count }
            }
            if mounts.isEmpty { return fail("df", "\(paths.joined(separator: " ")) is not on a lustrefs file system", ENODEV) }
        }
        let width = 11
        func pad(_ text: String, _ count: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, count - text.count))
            return left ? text + fill : fill + text
        }
        func amount(_ bytes: Int64) -> String {
            guard human else { return String(bytes / 1024) }
            let units = ["K", "M", "G", "T", "P", "E"]
            var value = Double(bytes) / 1024
            var unit = 0
            while value >= 1024 && unit < units.count - 1 {
                value /= 1024
                unit += 1
            }
            return bytes < 1024 ? "\(bytes)" : String(format: "%.1f%@", value, units[unit])
        }
        var status: Int32 = 0
        for mount in mounts {
            guard case .success(let text) = getAttribute(mount.path, LfsAttribute.df) else {
                status = fail("df", "cannot read the space of \(mount.path)", EIO)
                continue
            }
            guard let space = LfsValue.Space(text) else { continue }
            let (capacity, used, inodes, freeInodes) = (space.capacityBytes, space.usedBytes, space.inodes, space.freeInodes)
            let fsname = mount.device
            print(
                pad("UUID", 20, left: true) + " " + pad(human ? "bytes" : "1K-blocks", width) + " " + pad("Used", width) + " "
                    + pad("Available", width) + " " + "Use%" + " Mounted on")
            func row(_ uuid: String, _ total: Int64, _ usedBytes: Int64, _ place: String) {
                let available = max(0, total - usedBytes)
                let percent = total > 0 ? Int((Double(usedBytes) * 100 / Double(total)).rounded(.up)) : 0
                print(
                    pad(uuid, 20, left: true) + " " + pad(amount(total), width) + " " + pad(amount(usedBytes), width) + " "
                        + pad(amount(available), width) + " " + pad("\(percent)%", 4) + " " + place)
            }
            // The MDT holds names and attributes: reported as 1 KiB per inode of its capacity.
            let mdtTotal = (inodes + freeInodes) * 1024
            row("\(fsname)-MDT0000_UUID", mdtTotal, inodes * 1024, "\(mount.path)[MDT:0]")
            row("\(fsname)-OST0000_UUID", capacity, used, "\(mount.path)[OST:0]")
            print("")
            row("filesystem_summary:", capacity, used, mount.path)
            print("")
        }
        return status
    }
}
