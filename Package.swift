// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pcluster-swift",
    // Linux is where this runs (FUSE, cgroups, Slurm); the macOS floor only names what the standard library
    // types used here (Mutex) need.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pcluster", targets: ["pcluster"]),
        .executable(name: "pcluster-agent", targets: ["pcluster-agent"]),
        .executable(name: "pcluster-api", targets: ["pcluster-api"]),
        .library(name: "ClusterConfig", targets: ["ClusterConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.8.0"),
    ],
    targets: [
        // Ordered JSON values, the original's output formatting, and the --query (JMESPath) evaluator.
        .target(name: "JSONOutput", dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]),
        // YAML → positioned tree → schema check → typed model; validators; update policies.
        .target(name: "ClusterConfig", dependencies: ["Yams", "JSONOutput"]),
        // Cluster records on disk; the provider seam arrives with the local provider.
        .target(name: "Provisioning", dependencies: ["ClusterConfig"]),
        // A Slurm head node as processes on this machine (munged, slurmctld, the node agent over an
        // `InstanceLauncher`), its files, slurm.conf and process control. Both providers run it.
        .target(name: "SlurmHeadNode", dependencies: ["ClusterConfig", "Provisioning", .product(name: "SystemPackage", package: "swift-system")]),
        // The local provider: clusters on this machine, compute nodes as slurmd processes, shared storage
        // through the local FSx service.
        .target(name: "LocalCluster", dependencies: ["ClusterConfig", "Provisioning", "SlurmHeadNode", "AWSCore", "AWSFSx", "AWSSecretsManager"]),
        // The node agent Slurm runs (resume, suspend, PrologSlurmctld) and the cluster-manager loop.
        .executableTarget(name: "pcluster-agent", dependencies: ["SlurmHeadNode", "AWSProvider", "AWSCloudFormation", "AWSCore", "Provisioning",
            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The AWS provider: the cluster's CloudFormation template and stack, its configuration in S3, and the
        // node agent's EC2 launcher.
        .target(name: "AWSProvider", dependencies: ["ClusterConfig", "JSONOutput", "AWSCore", "AWSCloudFormation", "AWSEC2", "AWSFSx", "AWSS3", "AWSSTS", "AWSSecretsManager", "AWSELBv2",
                                                    "Provisioning", "SlurmHeadNode"]),
        // The 26 subcommands; every command returns a JSON document and an exit code.
        .target(name: "PClusterCLI", dependencies: [
            "ClusterConfig", "JSONOutput", "Provisioning",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The providers this build has, the only place that knows them by type.
        .target(name: "ClusterProviders", dependencies: ["ClusterConfig", "Provisioning", "LocalCluster", "AWSProvider", "AWSCore"]),
        .executableTarget(name: "pcluster", dependencies: ["PClusterCLI", "ClusterProviders"]),
        // Lustre's HSM states and rules, pure (the file system core applies them).
        .target(name: "HSM"),
        .testTarget(name: "HSMTests", dependencies: ["HSM"]),
        // The FSx format of POSIX attributes in S3 user metadata, and which keys can be files.
        .target(name: "RepositoryMetadata"),
        .testTarget(name: "RepositoryMetadataTests", dependencies: ["RepositoryMetadata"]),
        // The AWS wire layer: settings and credentials, SigV4, the query / REST-XML / JSON 1.1 protocols,
        // typed errors, retries, and one pooled HTTP client. No service knowledge lives here.
        .target(name: "AWSCore", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Service clients on top of AWSCore, one module per service.
        .target(name: "AWSS3", dependencies: ["AWSCore", .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio")]),
        .target(name: "AWSSQS", dependencies: ["AWSCore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "AWSSTS", dependencies: ["AWSCore", .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        .target(name: "AWSFSx", dependencies: ["AWSCore"]),
        .target(name: "AWSCloudFormation", dependencies: ["AWSCore"]),
        .target(name: "AWSSecretsManager", dependencies: ["AWSCore"]),
        .target(name: "AWSELBv2", dependencies: ["AWSCore"]),
        .target(name: "AWSEC2", dependencies: ["AWSCore", .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        // `s3xfer get|put|ls`: the S3 client as a command, used by the transfer benchmark.
        .executableTarget(name: "s3xfer", dependencies: ["AWSS3", "AWSCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Where a file system's data lives when it is not local: an S3 prefix or a local directory, behind one
        // protocol, with the FSx metadata format and the bucket-event feed for auto-import.
        .target(name: "DataRepository", dependencies: ["AWSCore", "AWSS3", "AWSSQS", "RepositoryMetadata", .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio")]),
        // The file system core: the metadata store (MDT, SQLite in WAL mode), the local data cache (OSTs),
        // HSM operations, data repository associations, import, restore, export, auto-import and tasks.
        // No FUSE in it: the mount maps the kernel onto this library.
        .target(name: "LustreFS", dependencies: ["CLinux", "HSM", "RepositoryMetadata", "DataRepository", .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log")]),
        // libfuse3's low-level API (Debian's libfuse3-dev) and the calls libfuse names by macro.
        .target(name: "CFuseShim", linkerSettings: [.linkedLibrary("fuse3")]),
        // Linux calls Swift's Glibc module leaves out (fallocate, per-thread credentials).
        .target(name: "CLinux"),
        // The mount: kernel requests of libfuse3's low-level API onto the core, and lfs's virtual xattrs.
        .target(name: "LustreMount", dependencies: ["CFuseShim", "LustreFS", "HSM", "LfsProtocol",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log")]),
        // The `lfs` ↔ mount protocol: the virtual attribute names and their value formats, shared by both sides.
        .target(name: "LfsProtocol", dependencies: ["HSM"]),
        // `lfs`: Lustre's hsm_* and df commands over a mount, with Lustre's output and exit codes.
        .executableTarget(name: "lfs", dependencies: ["HSM", "LfsProtocol", "CFuseShim",
            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The FSx API (JSON 1.1) on the file system core: file systems, associations, tasks; SigV4-checked.
        .target(name: "FSxService", dependencies: ["LustreFS", "LustreMount", "DataRepository", "AWSCore", "AWSFSx",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log")]),
        // `fsxd`: the FSx service on 127.0.0.1:7800.
        .executableTarget(name: "fsxd", dependencies: ["FSxService", "AWSCore", "DataRepository", "LustreFS",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log")]),
        // `fsx-admin`: the core as a command over a file system directory (import, cat, write, hsm_*, tasks).
        .executableTarget(name: "fsx-admin", dependencies: ["LustreFS", "LustreMount", "DataRepository", "HSM", "AWSCore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "LustreFSTests", dependencies: ["CLinux", "LustreFS", "DataRepository", "HSM", "LfsProtocol", "AWSCore", "AWSS3", "AWSSQS",
            "RepositoryMetadata", "TestSupport", "fsx-admin", "lfs", "FSxService", "fsxd"]),
        .testTarget(name: "ClusterConfigTests", dependencies: ["ClusterConfig", "JSONOutput", "TestSupport"]),
        .testTarget(name: "AWSProviderTests", dependencies: ["ClusterProviders", "AWSProvider", "ClusterConfig", "JSONOutput", "TestSupport", "AWSCore", "PClusterCLI",
                                                        "SlurmHeadNode", "pcluster-agent"]),
        // What the integration tests share: a moto server of their own on 127.0.0.1, free ports, commands.
        .target(name: "TestSupport", dependencies: ["AWSCore"], path: "Tests/TestSupport"),
        .testTarget(name: "AWSCoreTests", dependencies: ["AWSCore", "TestSupport", "AWSS3", "AWSSQS", "AWSSTS",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "LocalClusterTests", dependencies: ["ClusterProviders", "LocalCluster", "SlurmHeadNode", "ClusterConfig", "Provisioning", "PClusterCLI", "JSONOutput", "TestSupport", "fsxd", "lfs", "pcluster",
                                                         "AWSCore", "pcluster-agent", "pcluster-api"]),
        // The ParallelCluster API (openapi.yaml's /v3 operations) over the CLI's commands, SigV4 as API Gateway.
        .target(name: "ParallelClusterAPI", dependencies: ["PClusterCLI", "Provisioning", "JSONOutput", "AWSCore", "AWSFSx",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "pcluster-api", dependencies: ["ParallelClusterAPI", "ClusterProviders", "PClusterCLI", "AWSCore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ParallelClusterAPITests", dependencies: ["ParallelClusterAPI", "ClusterProviders", "PClusterCLI", "JSONOutput", "TestSupport", "AWSCore",
            "pcluster-api", "pcluster", "pcluster-agent", "fsxd", "lfs"]),
        .testTarget(name: "PClusterCLITests", dependencies: ["ClusterProviders", "PClusterCLI", "ClusterConfig", "JSONOutput", "Provisioning", "TestSupport", "pcluster"]),
    ],
    swiftLanguageModes: [.v6]
)
