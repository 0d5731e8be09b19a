import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Which names become objects, as FSx exports them: every hard link inside an association (an object per
/// name, all updated by a change through any name, each deleted with its name), and empty files.
@Suite(.serialized, .enabled(if: getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 && access("/usr/bin/fusermount3", X_OK) == 0))
struct ExportedNamesTests {
    @Test func everyNameHasItsObject() async throws {
        let mounted = try await MountTests.mount(objects: [:])
        let root = mounted.mountpoint + "/dra"
        func objects() async throws -> [String: Data] {
            var found: [String: Data] = [:]
            for object in try await mounted.s3.listAllObjects(bucket: mounted.bucket).objects {
                // An object listed may be deleted before it is read: absent then, the next look settles it.
                found[object.key] = try? await mounted.s3.getObject(bucket: mounted.bucket, key: object.key).body
            }
            return found
        }
        func expectObjects(_ expected: [String: String], _ comment: String) async throws {
            let want = expected.mapValues { Data($0.utf8) }
            var last: [String: Data] = [:]
            let matched = try await eventually(20) {
                last = try await objects()
                return last == want
            }
            #expect(matched, "\(comment): the bucket has \(last.mapValues { String(decoding: $0, as: UTF8.self) })")
        }

        #expect(try await mounted.shell("mkdir \(root)/dir && echo first > \(root)/dir/a").status == 0)
        try await expectObjects(["dir/": "", "dir/a": "first\n"], "after the write")
        #expect(try await mounted.shell("ln \(root)/dir/a \(root)/b && stat -c %h \(root)/b").out == "2\n")
        try await expectObjects(["dir/": "", "dir/a": "first\n", "b": "first\n"], "after ln")
        // A change through one name updates every name's object.
        #expect(try await mounted.shell("echo second >> \(root)/b").status == 0)
        try await expectObjects(["dir/": "", "dir/a": "first\nsecond\n", "b": "first\nsecond\n"], "after a write through the link")
        // Removing the name the file was first exported under leaves the other name's object.
        #expect(try await mounted.shell("rm \(root)/dir/a && stat -c %h \(root)/b").out == "1\n")
        try await expectObjects(["dir/": "", "b": "first\nsecond\n"], "after rm of the first name")
        // A renamed link moves its object; the other name's stays.
        #expect(try await mounted.shell("ln \(root)/b \(root)/dir/c && mv \(root)/dir/c \(root)/dir/d").status == 0)
        try await expectObjects(["dir/": "", "b": "first\nsecond\n", "dir/d": "first\nsecond\n"], "after ln and mv")
        // A directory moved with a link inside moves that name's object too.
        #expect(try await mounted.shell("mv \(root)/dir \(root)/moved").status == 0)
        try await expectObjects(["moved/": "", "b": "first\nsecond\n", "moved/d": "first\nsecond\n"], "after mv of the directory")
        #expect(try await mounted.shell("rm \(root)/b \(root)/moved/d").status == 0)
        try await expectObjects(["moved/": ""], "after rm of both names")
        #expect(await mounted.stop())
    }

    @Test func emptyFilesExportToo() async throws {
        let mounted = try await MountTests.mount(objects: [:])
        // Created and closed without a write (touch, an empty redirect): FSx exports them as empty objects like
        // any new file.
        let root = mounted.mountpoint + "/dra"
        #expect(try await mounted.shell("touch \(root)/touched && : > \(root)/redirected").status == 0)
        #expect(
            try await eventually(20) {
                Set(try await mounted.s3.listAllObjects(bucket: mounted.bucket).objects.map(\.key)) == ["touched", "redirected"]
            })
        #expect(try await mounted.s3.getObject(bucket: mounted.bucket, key: "touched").body.isEmpty)
        #expect(await mounted.stop())
    }
}
