// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pcluster-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pcluster", targets: ["pcluster"]),
        .library(name: "ClusterConfig", targets: ["ClusterConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Ordered JSON values, the original's output formatting, and the --query (JMESPath) evaluator.
        .target(name: "JSONOutput"),
        // YAML → positioned tree → schema check → typed model; validators; update policies.
        .target(name: "ClusterConfig", dependencies: ["Yams", "JSONOutput"]),
        // Cluster records on disk; the provider seam arrives with the local provider.
        .target(name: "Provisioning"),
        // The 26 subcommands; every command returns a JSON document and an exit code.
        .target(name: "PClusterCLI", dependencies: [
            "ClusterConfig", "JSONOutput", "Provisioning",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "pcluster", dependencies: ["PClusterCLI"]),
        .testTarget(name: "ClusterConfigTests", dependencies: ["ClusterConfig", "JSONOutput"]),
        .testTarget(name: "PClusterCLITests", dependencies: ["PClusterCLI", "ClusterConfig", "JSONOutput", "Provisioning", "pcluster"]),
    ],
    swiftLanguageModes: [.v6]
)
