import ClusterConfig
import Foundation

enum Fixtures {
    static let env = ["SUBNET_ID": "subnet-0123456789abcdef0", "FSX_FS_ID": "fs-0123456789abcdef0"]

    /// The repository root, found from this file's path so tests run from any directory.
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static var exampleConfigText: String {
        try! String(contentsOf: repoRoot.appendingPathComponent("examples/cluster.yaml"), encoding: .utf8)
    }

    static func validate(
        _ yaml: String, env: [String: String] = Fixtures.env, clusterName: String? = "demo",
        suppression: ValidatorSuppression = ValidatorSuppression()
    ) throws -> ValidationResult {
        let (doc, expansion) = try ConfigLoader.parse(text: yaml, file: "test.yaml", environment: env)
        return ConfigValidation.validate(
            document: doc, expansionFindings: expansion, clusterName: clusterName,
            region: nil, suppression: suppression)
    }

    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A minimal valid config to build variations on.
    static let minimal = """
        Image:
          Os: alinux2023
        HeadNode:
          InstanceType: c6i.2xlarge
          Networking:
            SubnetId: subnet-0123456789abcdef0
          Ssh:
            KeyName: k
        Scheduling:
          Scheduler: slurm
          SlurmQueues:
            - Name: q1
              ComputeResources:
                - Name: cr1
                  InstanceType: c5.xlarge
                  MinCount: 0
                  MaxCount: 4
              Networking:
                SubnetIds:
                  - subnet-0123456789abcdef0
        """
}

extension ValidationResult {
    func messages(of type: String) -> [ValidationMessage] { messages.filter { $0.type == type } }
    var errors: [ValidationMessage] { messages.filter { $0.level == .error } }
}
