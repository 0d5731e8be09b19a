import ClusterConfig
import Foundation
import TestSupport
import Testing

/// `SlurmSettings.Database.Uri` judged by our DatabaseUriValidator and by the original's, URI by URI: the
/// same findings, words and levels (the original's messages quote Python's urllib, which ours emulates).
@Suite struct OracleDatabaseFindingsTests {
    static let uris = [
        "127.0.0.1:3306", "127.0.0.1", "db.example.com", "db.example.com:3306", "test.example.com:3306/extra",
        "mysql://db.example.com:3306", "MySQL://db:1", "/db.example.com:3306", "db.example.com:abc", "db.example.com:70000",
        "db.example.com:0", "db.example.com:", "db.example.com:-1", "[::1]:3306", "[::1]", "user@db.example.com:3306",
        "user:pw@db.example.com", "a+b://host:1", "1host:3306", "localhost:3306?x=1", "host#frag", "", ":3306", "//host:3306",
        "host:3306:1", "host:٣٣", "h_o-st.local:65535",
    ]

    @Test(.enabled(if: OracleResponses.python != nil, "the original is not installed: run scripts/oracle/setup"))
    func databaseUriFindingsAreTheOriginals() async throws {
        let requests = try Self.uris.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let answers = try await OracleResponses.answers(script: "database_uri_findings.py", lines: requests)
        try #require(answers.count == Self.uris.count)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("database-findings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (index, (uri, answer)) in zip(Self.uris, answers).enumerated() {
            let theirs = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [[String]], "\(uri): \(answer)")
            let file = dir.appendingPathComponent("c\(index).yaml")
            try Self.config(uri: uri).write(to: file, atomically: true, encoding: .utf8)
            let result = try ConfigValidation.validate(path: file.path, environment: [:], clusterName: "demo", region: "us-east-1")
            let ours = result.messages.filter { $0.type == "DatabaseUriValidator" }.map { [$0.level.description, $0.message] }
            #expect(ours == theirs, "Uri: \(uri)")
        }
    }

    static func config(uri: String) throws -> String {
        let quoted = String(decoding: try JSONEncoder().encode(uri), as: UTF8.self)
        return """
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
                  Uri: \(quoted)
                  UserName: slurm
                  PasswordSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf
              SlurmQueues:
                - Name: q
                  ComputeResources:
                    - Name: cr
                      InstanceType: c6i.large
                      MaxCount: 2
                  Networking:
                    SubnetIds: [subnet-0123456789abcdef0]

            """
    }
}
