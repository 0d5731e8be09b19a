import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Locks and shared mappings on the mount between separate processes, as HDF5, SQLite and MPI-IO use
/// them: flock, POSIX record locks, OFD locks, and a MAP_SHARED mapping whose writes other processes see
/// and the association exports. The cluster's compute nodes are processes of this machine on the same
/// mount, so what holds between two processes here holds between two nodes.
@Suite(.serialized, .enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 && access("/usr/bin/fusermount3", X_OK) == 0))
struct LockAndMapTests {
    /// Runs a Python program with the mount's association directory as its working directory.
    static func python(_ mounted: MountTests.Mounted, _ program: String) async throws -> (status: Int32, out: String, err: String) {
        try await mounted.shell("cd \(mounted.mountpoint)/dra && python3 - <<'PY'\n\(program)\nPY")
    }

    @Test func locksExcludeOtherProcesses() async throws {
        let mounted = try await MountTests.mount(objects: [:])
        // Each check: a holder takes the lock in this process, a child process tries it, the holder lets go
        // and the child tries again.
        let program = """
            import fcntl, os, struct, subprocess, sys
            open("shared.h5", "wb").write(b"x" * 4096)
            def child(code):
                result = subprocess.run([sys.executable, "-c", "import fcntl, os, struct\\n" + code], capture_output=True, text=True)
                return result.stdout.strip() or result.stderr.strip()
            try_flock = '''
            fd = os.open("shared.h5", os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print("taken")
            except BlockingIOError: print("busy")
            '''
            holder = os.open("shared.h5", os.O_RDWR)
            fcntl.flock(holder, fcntl.LOCK_EX)
            print("flock", child(try_flock), end=" ")
            fcntl.flock(holder, fcntl.LOCK_UN)
            print(child(try_flock))
            # POSIX record locks: a range held by one process; the child may lock beside it, not over it, and
            # F_GETLK names the holder.
            fcntl.lockf(holder, fcntl.LOCK_EX, 100, 0)
            print("record", child('''
            fd = os.open("shared.h5", os.O_RDWR)
            def attempt(start, length):
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start, 0); return "taken"
                except OSError: return "busy"
            query = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 50, 10, 0)
            kind, _, start, length, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, query))
            print(attempt(100, 100), attempt(50, 10), "holder-pid", pid == os.getppid())
            '''))
            fcntl.lockf(holder, fcntl.LOCK_UN, 100, 0)
            # Open file description locks: two opens in one process conflict (POSIX locks would not).
            first, second = os.open("shared.h5", os.O_RDWR), os.open("shared.h5", os.O_RDWR)
            F_OFD_SETLK = 37
            fcntl.fcntl(first, F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
            try:
                fcntl.fcntl(second, F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)); print("ofd taken")
            except OSError: print("ofd busy")
            os.close(first)
            fcntl.fcntl(second, F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)); print("ofd after close taken")
            """
        let result = try await Self.python(mounted, program)
        #expect(result.status == 0, "\(result.err)")
        #expect(
            result.out == "flock busy taken\nrecord taken busy holder-pid True\nofd busy\nofd after close taken\n", "\(result.out) \(result.err)")
        #expect(await mounted.stop())
    }

    @Test func sharedMappingsAreSeenAndExported() async throws {
        let mounted = try await MountTests.mount(objects: [:])
        // A writer maps the file shared and writes through the mapping; a reader mapping it in another
        // process sees the bytes before any msync; the object exported after the last close has them.
        let program = """
            import mmap, os, subprocess, sys
            size = 3 * 4096 + 100
            fd = os.open("mapped.bin", os.O_CREAT | os.O_RDWR, 0o644)
            os.ftruncate(fd, size)
            view = mmap.mmap(fd, size, mmap.MAP_SHARED)
            view[0:5] = b"first"
            view[2 * 4096:2 * 4096 + 6] = b"middle"
            view[size - 4:size] = b"last"
            seen = subprocess.run([sys.executable, "-c", '''
            import mmap, os
            fd = os.open("mapped.bin", os.O_RDONLY)
            view = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
            print(view[0:5].decode(), view[2 * 4096:2 * 4096 + 6].decode(), view[-4:].decode())
            '''], capture_output=True, text=True)
            print(seen.stdout.strip() or seen.stderr.strip())
            view.close()
            os.close(fd)
            print(os.stat("mapped.bin").st_size)
            """
        let result = try await Self.python(mounted, program)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "first middle last\n12388\n", "\(result.out) \(result.err)")
        var exported = Data()
        #expect(
            try await eventually(20) {
                guard let object = try? await mounted.s3.getObject(bucket: mounted.bucket, key: "mapped.bin") else { return false }
                exported = object.body
                return exported.count == 12388
            })
        #expect(exported.prefix(5) == Data("first".utf8))
        #expect(exported[2 * 4096..<(2 * 4096 + 6)] == Data("middle".utf8))
        #expect(exported.suffix(4) == Data("last".utf8))
        #expect(exported[5..<(2 * 4096)].allSatisfy { $0 == 0 })
        #expect(await mounted.stop())
    }

    @Test func directIOBypassesThePageCache() async throws {
        let mounted = try await MountTests.mount(objects: [:])
        // O_DIRECT writes and reads of whole blocks (as dd does for MPI-IO's direct mode), then the data read
        // through the page cache and from the exported object agree.
        let result = try await mounted.shell(
            """
            cd \(mounted.mountpoint)/dra
            head -c 1048576 /dev/urandom > source.bin
            dd if=source.bin of=direct.bin bs=65536 oflag=direct status=none
            dd if=direct.bin of=back.bin bs=65536 iflag=direct status=none
            cmp source.bin direct.bin && cmp source.bin back.bin && echo same
            """)
        #expect(result.status == 0 && result.out == "same\n", "\(result.out) \(result.err)")
        let local = FileManager.default.contents(atPath: mounted.mountpoint + "/dra/source.bin")
        #expect(
            try await eventually(20) {
                (try? await mounted.s3.getObject(bucket: mounted.bucket, key: "direct.bin"))?.body == local
            })
        #expect(await mounted.stop())
    }

    @Test func timesKeepTheirNanosecondsThroughTheRepository() async throws {
        // Imported: FSx's file-mtime and file-atime headers, to the nanosecond.
        let metadata = [
            "file-permissions": "0100644", "file-owner": "0", "file-group": "0",
            "file-mtime": "1595002920123456789ns", "file-atime": "1595002921987654321ns",
        ]
        let mounted = try await MountTests.mount(objects: ["imported.txt": (Data("in the bucket\n".utf8), metadata)])
        let root = mounted.mountpoint + "/dra"
        let imported = try await mounted.shell("stat -c '%.9Y %.9X' \(root)/imported.txt")
        #expect(imported.out == "1595002920.123456789 1595002921.987654321\n", "\(imported.out) \(imported.err)")
        // Exported: times set through the mount reach the object's headers unrounded.
        let set = try await mounted.shell(
            "echo local > \(root)/exported.txt && touch -m -d '@1600000000.000000007' \(root)/exported.txt"
                + " && touch -a -d '@1600000001.999999999' \(root)/exported.txt && stat -c '%.9Y %.9X' \(root)/exported.txt")
        #expect(set.out == "1600000000.000000007 1600000001.999999999\n", "\(set.out) \(set.err)")
        // Under the whole suite's load the export once took over 20 s: the bound is a minute, and a
        // failure says what the object carried last.
        var last: [String: String] = [:]
        #expect(
            try await eventually(60) {
                let head = try? await mounted.s3.headObject(bucket: mounted.bucket, key: "exported.txt")
                last = head?.metadata ?? [:]
                return head?.metadata["file-mtime"] == "1600000000000000007ns" && head?.metadata["file-atime"] == "1600000001999999999ns"
            }, "the object's metadata: \(last)")
        #expect(await mounted.stop())
    }
}
