import AWSCore
import AWSS3
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// S3 changes a bucket's notification configuration only as a whole (read, modify, write back), so two
/// processes that set up auto-import on one bucket at the same moment can each drop the entry the other just
/// wrote. Several `fsx-admin` processes, each with its own file system, create auto-import associations on
/// one bucket at once: every association's entry must be there afterwards, and no lock file.
@Suite(.serialized) struct NotificationRaceTests {
    @Test func processesSettingUpAutoImportOnOneBucketAtOnceKeepEveryEntry() async throws {
        let (admin, s3, bucket, scratch) = try await CrashRecoveryTests.setUp()
        let writers = 6
        let processes = try (0..<writers).map { index in
            let own = CrashRecoveryTests.Admin(directory: scratch.path + "/fs\(index)", environment: admin.environment)
            return try own.start(
                "create-association", "--file-system-path", "/p\(index)", "--data-repository-path", "s3://\(bucket)/p\(index)/",
                "--auto-import", "NEW,CHANGED,DELETED")
        }
        for process in processes { await process.exited() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "\(processes.map(\.terminationStatus))")
        let entries = try await s3.getBucketNotificationConfiguration(bucket: bucket).targets
        let prefixes = Set(entries.compactMap(\.prefix))
        #expect(prefixes == Set((0..<writers).map { "p\($0)/" }), "entries left: \(prefixes.sorted())")
        // The lock file that serialized the edits goes with the last of them.
        let lockFile = FileManager.default.temporaryDirectory.appendingPathComponent(".fsx-notification-\(bucket).lock").path
        #expect(!FileManager.default.fileExists(atPath: lockFile))
    }
}
