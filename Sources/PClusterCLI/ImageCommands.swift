import ArgumentParser

/// Custom images are built by EC2 Image Builder; the local provider runs on this machine's own
/// OS, so these commands answer that they need the AWS provider.
protocol ImageCommand: PClusterCommand {}

extension ImageCommand {
    func execute(in env: CommandEnvironment) async throws -> CommandOutcome {
        Responses.unavailable(
            Self.configuration.commandName ?? "image commands",
            "custom images are built with EC2 Image Builder, which needs the AWS provider; the local provider uses this machine's own OS.")
    }
}

struct BuildImage: ImageCommand {
    static let configuration = CommandConfiguration(commandName: "build-image", abstract: "Create a custom ParallelCluster image in a given region.")
    @Option(name: .customLong("suppress-validators"), parsing: .upToNextOption, help: "Config validators to suppress.") var suppressValidators:
        [String] = []
    @Option(name: .customLong("validation-failure-level"), help: "Min validation level that will cause the build to fail.")
    var validationFailureLevel: FailureLevelArgument = .ERROR
    @Option(name: .long, help: "Only validate the request (true|false).") var dryrun: BoolArgument?
    @Option(name: .customLong("rollback-on-failure"), help: "Roll back on failure (true|false).") var rollbackOnFailure: BoolArgument?
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: [.customShort("c"), .customLong("image-configuration")], help: "Image configuration file.") var imageConfiguration: String
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @OptionGroup var common: CommonOptions
}

struct DeleteImage: ImageCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-image", abstract: "Initiate the deletion of the custom ParallelCluster image.")
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "Force deletion (true|false).") var force: BoolArgument?
    @OptionGroup var common: CommonOptions
}

struct DescribeImage: ImageCommand {
    static let configuration = CommandConfiguration(commandName: "describe-image", abstract: "Get detailed information about an existing image.")
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @OptionGroup var common: CommonOptions
}

struct ListImages: ImageCommand {
    static let configuration = CommandConfiguration(commandName: "list-images", abstract: "Retrieve the list of existing custom images.")
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("image-status"), help: "Filter images by status.") var imageStatus: ImageStatusArgument
    @OptionGroup var common: CommonOptions
}

struct ListOfficialImages: ImageCommand {
    static let configuration = CommandConfiguration(commandName: "list-official-images", abstract: "List Official ParallelCluster AMIs.")
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .long, help: "Filter by OS.") var os: String?
    @Option(name: .long, help: "Filter by architecture.") var architecture: String?
    @OptionGroup var common: CommonOptions
}

struct ListImageLogStreams: ImageCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-image-log-streams", abstract: "Retrieve the list of log streams associated with an image.")
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @OptionGroup var common: CommonOptions
}

struct GetImageLogEvents: ImageCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-image-log-events", abstract: "Retrieve the events associated with an image build.")
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @Option(name: .customLong("log-stream-name"), help: "Name of the log stream.") var logStreamName: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @Option(name: .customLong("start-from-head"), help: "Oldest events first (true|false).") var startFromHead: BoolArgument?
    @Option(name: .long, help: "Maximum number of events.") var limit: Int?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @OptionGroup var common: CommonOptions
}

struct GetImageStackEvents: ImageCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-image-stack-events", abstract: "Retrieve the events associated with the stack for a given image build.")
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("next-token"), help: "Token to use for paginated requests.") var nextToken: String?
    @OptionGroup var common: CommonOptions
}

struct ExportImageLogs: ImageCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-image-logs", abstract: "Export the logs of the image builder stack to a local tar.gz archive.")
    @Option(name: [.customShort("r"), .long], help: "AWS Region.") var region: String?
    @Option(name: .customLong("output-file"), help: "File path to save the archive to.") var outputFile: String?
    @Option(name: .customLong("keep-s3-objects"), help: "Keep the exported objects in S3 (true|false).") var keepS3Objects: BoolArgument?
    @Option(name: .customLong("start-time"), help: "Start time (ISO 8601).") var startTime: String?
    @Option(name: .customLong("end-time"), help: "End time (ISO 8601).") var endTime: String?
    @Option(name: [.customShort("i"), .customLong("image-id")], help: "Id of the image.") var imageId: String
    @Option(name: .long, help: "S3 bucket to export through.") var bucket: String?
    @Option(name: .customLong("bucket-prefix"), help: "Key prefix in the bucket.") var bucketPrefix: String?
    @OptionGroup var common: CommonOptions
}
