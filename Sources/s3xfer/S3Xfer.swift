import AWSCore
import AWSS3
import ArgumentParser
import Foundation

/// The S3 client as a command: what the transfer benchmark runs, and a handy tool on a head node.
@main
struct S3Xfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3xfer",
        abstract: "Copy objects between S3 and local files with parallel ranged GETs and multipart uploads.",
        subcommands: [Get.self, Put.self, List.self, MakeBucket.self, Presign.self])
}

struct TransferFlags: ParsableArguments {
    @Option(help: "Parallel requests in flight.") var concurrency = 8
    @Option(help: "Part size in MiB (at least 5).") var partSizeMib = 8
    var options: S3TransferOptions {
        S3TransferOptions(partSize: partSizeMib << 20, concurrency: concurrency, multipartThreshold: partSizeMib << 20)
    }
}

struct S3URL {
    let bucket: String
    let key: String
    init(_ text: String) throws {
        guard text.hasPrefix("s3://") else { throw ValidationError("'\(text)' is not an s3://BUCKET/KEY address") }
        let rest = text.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bucket = parts.first, !bucket.isEmpty else { throw ValidationError("'\(text)' names no bucket") }
        self.bucket = String(bucket)
        self.key = parts.count > 1 ? String(parts[1]) : ""
    }
}

func run(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("s3xfer: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download s3://BUCKET/KEY to FILE.")
    @Argument var source: String
    @Argument var destination: String
    @OptionGroup var flags: TransferFlags
    func run() async throws {
        let url = try S3URL(source)
        try await s3xfer.run {
            let client = try S3Client(settings: .resolve())
            let result = try await client.download(bucket: url.bucket, key: url.key, toFile: destination, options: flags.options)
            let how = result.parallelRanges == 0 ? "one stream" : "one stream and \(result.parallelRanges) parallel ranges"
            print("downloaded \(result.head.size) bytes to \(destination) (\(how))")
        }
    }
}

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upload FILE to s3://BUCKET/KEY.")
    @Argument var source: String
    @Argument var destination: String
    @Option(name: .customLong("metadata"), help: "name=value user metadata (repeatable).") var metadata: [String] = []
    @OptionGroup var flags: TransferFlags
    func run() async throws {
        let url = try S3URL(destination)
        var pairs: [String: String] = [:]
        for item in metadata {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--metadata '\(item)' needs name=value") }
            pairs[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        try await s3xfer.run {
            let client = try S3Client(settings: .resolve())
            let etag = try await client.upload(file: source, bucket: url.bucket, key: url.key, metadata: pairs, options: flags.options)
            print("uploaded \(source) as \(destination) (ETag \(etag))")
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List s3://BUCKET/PREFIX.")
    @Argument var prefix: String
    func run() async throws {
        let url = try S3URL(prefix)
        try await s3xfer.run {
            let client = try S3Client(settings: .resolve())
            try await client.listAllObjects(bucket: url.bucket, prefix: url.key) { page in
                for object in page.objects { print("\(object.size)\t\(object.key)") }
            }
        }
    }
}

struct MakeBucket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mb", abstract: "Create s3://BUCKET.")
    @Argument var bucket: String
    func run() async throws {
        let url = try S3URL(bucket)
        try await s3xfer.run { try await S3Client(settings: .resolve()).createBucket(url.bucket) }
    }
}

struct Presign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a presigned GET URL for s3://BUCKET/KEY.")
    @Argument var object: String
    @Option(help: "Seconds the URL stays valid.") var expiresIn = 3600
    func run() async throws {
        let url = try S3URL(object)
        try await s3xfer.run {
            print(try await S3Client(settings: .resolve()).presignedGetURL(bucket: url.bucket, key: url.key, expires: expiresIn))
        }
    }
}
