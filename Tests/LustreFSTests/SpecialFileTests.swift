import DataRepository
import Foundation
import LustreFS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// FIFOs, devices and sockets in the core: kept with their type and device number, never exported (FSx
/// exports files, directories and symbolic links), and kept when an object of the same name appears.
@Suite struct SpecialFileTests {
    @Test func specialFilesStayInTheFileSystem() async throws {
        let scratch = Scratch()
        let repo = scratch.sub("repo")
        let fs = try await FileSystem.open(directory: scratch.sub("fs"), options: testOptions(), repositories: TestRepositories())
        let association = try await fs.associate(
            "/dra", "file://\(repo)", autoImport: [.new, .changed, .deleted], autoExport: [.new, .changed, .deleted])
        let root = try await fs.resolve("/dra")
        let made: [(String, FileType, UInt64)] = [
            ("pipe", .fifo, 0), ("tty", .characterDevice, (4 << 8) | 1), ("disk", .blockDevice, (8 << 8) | 16), ("sock", .socket, 0),
        ]
        for (name, type, rdev) in made {
            let inode = try await fs.makeNode(parent: root.ino, name: name, type: type, perm: 0o640, uid: 0, gid: 0, rdev: rdev)
            #expect(inode.type == type && inode.rdev == rdev && inode.mode == UInt32(type.rawValue) | 0o640, "\(inode)")
        }
        try await fs.writeFile("/dra/plain", Data("exported".utf8))
        #expect(try await fs.waitForExports())
        let exported = try FileManager.default.contentsOfDirectory(atPath: repo).filter { !$0.hasPrefix(".") }
        #expect(exported == ["plain"], "\(exported)")

        // Opened or truncated through the core, they answer as a local file system's special files would.
        let pipe = try await fs.resolve("/dra/pipe")
        #expect(await errno(of: { _ = try await fs.open(pipe.ino, mode: .read) }) == ENXIO)
        #expect(await errno(of: { _ = try await fs.setAttributes(pipe.ino, AttributeChanges(size: 0)) }) == EINVAL)

        // An object of the same name appearing in the repository does not replace the local FIFO.
        try Data("object".utf8).write(to: URL(fileURLWithPath: repo + "/pipe"))
        let report = try await fs.reconcile(association.id, allowed: association.autoImport)
        #expect(report.conflicts == ["/dra/pipe"], "\(report)")
        #expect(try await fs.resolve("/dra/pipe").type == .fifo)

        // They survive a restart with their type and number, and go on unlink.
        await fs.close()
        let reopened = try await FileSystem.open(directory: scratch.path + "/fs", options: testOptions(), repositories: TestRepositories())
        let disk = try await reopened.resolve("/dra/disk")
        #expect(disk.type == .blockDevice && disk.rdev == (8 << 8) | 16)
        try await reopened.remove(parent: root.ino, name: "disk", directory: false)
        #expect(await errno(of: { _ = try await reopened.resolve("/dra/disk") }) == ENOENT)
        await reopened.close()
    }
}
