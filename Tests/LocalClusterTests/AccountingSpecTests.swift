import ClusterConfig
import Foundation
import Testing

@testable import SlurmHeadNode

/// `SlurmSettings.Database` as it becomes slurmdbd's and slurmctld's settings, without servers: the URI's
/// host and port, the default database name, the password's checks, and what each file says.
@Suite struct AccountingSpecTests {
    static func config(_ database: String) throws -> ClusterConfiguration {
        let text = """
            Region: us-east-1
            Image:
              Os: alinux2023
            HeadNode:
              InstanceType: c6i.2xlarge
              Networking:
                SubnetId: subnet-0123456789abcdef0
            Scheduling:
              Scheduler: slurm
              SlurmSettings:
                Database:
            \(database)
              SlurmQueues:
                - Name: q
                  ComputeResources:
                    - Name: cr
                      InstanceType: c6i.large
                      MaxCount: 2
                  Networking:
                    SubnetIds: [subnet-0123456789abcdef0]

            """
        let (document, _) = try ConfigLoader.parse(text: text, file: "c.yaml", environment: [:])
        return try #require(ConfigValidation.validate(document: document, clusterName: "my-cluster", region: nil).config)
    }

    static let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

    @Test(arguments: [
        ("db.example.com:3307", "db.example.com", 3307), ("db.example.com", "db.example.com", 3306),
        ("[::1]:3308", "::1", 3308), ("10.0.0.5:0", "10.0.0.5", 3306),
    ])
    func theURIGivesHostAndPort(uri: String, host: String, port: Int) async throws {
        let config = try Self.config("      Uri: \"\(uri)\"\n      UserName: slurm\n      PasswordSecretArn: \(Self.secret)")
        let planned = try await AccountingSpec.plan(config, clusterName: "my-cluster", dbdPort: { 6819 }) { arn in
            #expect(arn == Self.secret)
            return "pw"
        }
        let spec = try #require(planned?.spec)
        #expect(spec.storageHost == host && spec.storagePort == port && spec.storageUser == "slurm")
        // Without DatabaseName: the cluster's name, "-" as "_".
        #expect(spec.databaseName == "my_cluster")
    }

    @Test func databaseNameAndFilesAreTheConfigs() async throws {
        let config = try Self.config(
            "      Uri: db:3306\n      UserName: acct\n      PasswordSecretArn: \(Self.secret)\n      DatabaseName: slurm_acct")
        let planned = try #require(try await AccountingSpec.plan(config, clusterName: "c", dbdPort: { 24001 }) { _ in "s3cret" })
        #expect(planned.spec.databaseName == "slurm_acct" && planned.password == "s3cret")
        let layout = LocalLayout(root: URL(fileURLWithPath: "/var/lib/pcluster-swift/regions/us-east-1/c"))
        let dbd = planned.spec.slurmdbdConf(password: planned.password, layout: layout).split(separator: "\n")
        for line in [
            "StorageType=accounting_storage/mysql", "StorageHost=db", "StoragePort=3306", "StorageUser=acct", "StoragePass=s3cret",
            "StorageLoc=slurm_acct", "DbdPort=24001", "DbdAddr=127.0.0.1", "CommunicationParameters=NoInAddrAny",
            "AuthInfo=socket=\(layout.mungeSocket)",
        ] {
            #expect(dbd.contains(Substring(line)), "\(line)")
        }
        let ctld = planned.spec.slurmConfLines(dbdAddress: "127.0.0.1", mungeSocket: layout.mungeSocket)
        #expect(ctld.contains("AccountingStorageType=accounting_storage/slurmdbd") && ctld.contains("AccountingStoragePort=24001"))
        #expect(ctld.contains("AccountingStoragePass=\(layout.mungeSocket)"))
    }

    @Test func aPasswordSlurmdbdConfCannotHoldIsRefusedBeforeAnythingStarts() async throws {
        let config = try Self.config("      Uri: db:3306\n      UserName: acct\n      PasswordSecretArn: \(Self.secret)")
        for bad in ["", "two\nlines", "has#hash"] {
            await #expect(throws: LocalClusterError.self) {
                try await AccountingSpec.plan(
                    config, clusterName: "c",
                    dbdPort: {
                        Issue.record("no port for a refused plan"); return 1
                    }
                ) { _ in bad }
            }
        }
        struct Unreadable: Error {}
        await #expect(throws: LocalClusterError.self) {
            try await AccountingSpec.plan(config, clusterName: "c", dbdPort: { 1 }) { _ in throw Unreadable() }
        }
        // No Database section: no accounting, and the secret is never asked for.
        let plain = try Self.config("      Uri: db\n      UserName: u\n      PasswordSecretArn: \(Self.secret)")
        var withoutDatabase = plain
        withoutDatabase.scheduling.database = nil
        #expect(
            try await AccountingSpec.plan(withoutDatabase, clusterName: "c", dbdPort: { 1 }) { _ in
                Issue.record("asked"); return ""
            } == nil)
    }
}
