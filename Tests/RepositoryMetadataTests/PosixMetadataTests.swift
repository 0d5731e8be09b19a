import RepositoryMetadata
import Testing

@Suite struct PosixMetadataTests {
    @Test func readsTheOriginalsHeaders() throws {
        let metadata = try PosixMetadata.parse([
            "file-permissions": "0100664", "file-owner": "500", "file-group": "501",
            "file-atime": "1595002920000000000ns", "file-mtime": "1595002920123",
            "user-agent": "aws-fsx-lustre",
        ]).get()
        #expect(metadata.mode == 0o100664 && metadata.fileType == PosixMetadata.regularFileType && metadata.permissions == 0o664)
        #expect(metadata.uid == 500 && metadata.gid == 501)
        #expect(metadata.atimeNanoseconds == 1_595_002_920_000_000_000)
        #expect(metadata.mtimeNanoseconds == 1_595_002_920_123_000_000)  // no suffix: milliseconds
    }

    @Test func objectsWithoutMetadataAreRootRoot0755() throws {
        #expect(try PosixMetadata.parse([:]).get() == PosixMetadata(mode: 0o100755, uid: 0, gid: 0))
        #expect(try PosixMetadata.parse([:], type: PosixMetadata.directoryType).get().mode == 0o040755)
        // Permissions without a type take the type the key implies.
        #expect(try PosixMetadata.parse(["file-permissions": "0750"], type: PosixMetadata.directoryType).get().mode == 0o040750)
    }

    @Test func writesTheOriginalsFormatAndDropsSetuid() {
        let metadata = PosixMetadata(mode: 0o104755, uid: 1000, gid: 100, atimeNanoseconds: 5, mtimeNanoseconds: 1_700_000_000_000_000_000)
        #expect(
            metadata.userMetadata == [
                "file-permissions": "0100755", "file-owner": "1000", "file-group": "100",
                "file-atime": "5ns", "file-mtime": "1700000000000000000ns", "user-agent": "aws-fsx-lustre",
            ])
        let roundTrip = try? PosixMetadata.parse(metadata.userMetadata).get()
        #expect(roundTrip?.mode == 0o100755 && roundTrip?.uid == 1000 && roundTrip?.mtimeNanoseconds == 1_700_000_000_000_000_000)
    }

    @Test(arguments: [
        ("file-permissions", "rwxr-xr-x"), ("file-permissions", "0200000000"), ("file-owner", "-1"),
        ("file-group", "root"), ("file-mtime", "yesterday"), ("file-atime", "99999999999999999999"),
    ])
    func malformedValuesAreReportedWithTheirHeader(_ key: String, _ value: String) {
        #expect(PosixMetadata.parse([key: value]) == .failure(.malformed(key, value)))
        #expect(MetadataError.malformed(key, value).description == "x-amz-meta-\(key) '\(value)' is not in the FSx format")
    }

    @Test func keysThatCanBeFiles() {
        #expect(RepositoryKey.relativePath(of: "dra/a/b.txt", under: "dra/")! == ("a/b.txt", .file))
        #expect(RepositoryKey.relativePath(of: "dra/a/", under: "dra/")! == ("a", .directory))
        #expect(RepositoryKey.relativePath(of: "dra/a b/ሴ", under: "dra/")! == ("a b/ሴ", .file))
        for skipped in ["dra/", "dra/./x", "dra/a/../x", "dra/a//b", "dra/.", "other/x", "dra/" + String(repeating: "x", count: 1030)] {
            #expect(RepositoryKey.relativePath(of: skipped, under: "dra/") == nil, "\(skipped)")
        }
    }
}
