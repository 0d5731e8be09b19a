import Foundation
import NIOConcurrencyHelpers
import TestSupport
import Testing

@testable import AWSCore

/// IMDSv2 instance-role credentials against a local double that insists on the session token.
@Suite struct InstanceMetadataTests {
    /// The SDKs' 1 s limit is too tight for a double sharing two cores with the other suites (it timed out
    /// there); what these tests check is the protocol, not the limit.
    static let timeout = "10"

    static func server(expiresIn: TimeInterval, failAfter: Int = .max) async throws -> ScriptedHTTPServer {
        let served = NIOLockedValueBox(0)
        return try await ScriptedHTTPServer { request in
            let token = "token-\(request.headers.first(name: "X-aws-ec2-metadata-token-ttl-seconds") ?? "")"
            switch (request.method, request.uri) {
            case ("PUT", "/latest/api/token"):
                guard request.headers.first(name: "X-aws-ec2-metadata-token-ttl-seconds") == "21600" else { return .init(status: 400) }
                return .init(status: 200, body: "token-21600")
            case ("GET", "/latest/meta-data/local-ipv4"):
                guard request.headers.first(name: "X-aws-ec2-metadata-token") == "token-21600" else { return .init(status: 401) }
                return .init(status: 200, body: "10.0.0.17\n")
            case ("GET", let uri) where uri.hasPrefix("/latest/meta-data/iam/security-credentials/"):
                guard request.headers.first(name: "X-aws-ec2-metadata-token") == "token-21600" else { return .init(status: 401) }
                _ = token
                if uri == "/latest/meta-data/iam/security-credentials/" { return .init(status: 200, body: "pcluster-head\n") }
                guard uri.hasSuffix("/pcluster-head") else { return .init(status: 404) }
                let count = served.withLockedValue { value -> Int in
                    value += 1; return value
                }
                if count > failAfter { return .init(status: 500, body: "broken") }
                let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(expiresIn))
                return .init(
                    status: 200,
                    body: """
                        {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAROLE\(count)",
                         "SecretAccessKey": "rolesecret", "Token": "roletoken\(count)", "Expiration": "\(expiry)"}
                        """)
            default:
                return .init(status: 404)
            }
        }
    }

    @Test func chainFallsBackToTheInstanceRole() async throws {
        let server = try await Self.server(expiresIn: 3600)
        defer { Task { await server.stop() } }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("imds-home-\(UUID().uuidString)").path
        let settings = try AWSSettings.resolve(environment: [
            "HOME": home, "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint, "AWS_METADATA_SERVICE_TIMEOUT": Self.timeout,
        ])
        let credentials = try await settings.credentials.credentials()
        #expect(credentials.accessKeyId == "ASIAROLE1")
        #expect(credentials.sessionToken == "roletoken1")
        #expect(credentials.source == "instance role 'pcluster-head'")
        #expect(credentials.expiration != nil)
        // Cached: a second call does not go back to the service.
        _ = try await settings.credentials.credentials()
        #expect(server.requests.filter { $0.uri.hasSuffix("/pcluster-head") }.count == 1)
        #expect(server.requests.first?.method == "PUT")
    }

    /// What the node agent reads at boot: this instance's address, with a session token, from the endpoint
    /// AWS_EC2_METADATA_SERVICE_ENDPOINT names.
    @Test func readsMetadataWithASessionToken() async throws {
        let server = try await Self.server(expiresIn: 3600)
        defer { Task { await server.stop() } }
        let metadata = InstanceMetadataClient(environment: [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint + "/", "AWS_METADATA_SERVICE_TIMEOUT": Self.timeout,
        ])
        #expect(try await metadata.read("meta-data/local-ipv4") == "10.0.0.17")
        #expect(server.requests.map(\.method) == ["PUT", "GET"])
        await #expect(throws: InstanceMetadataError.self) { try await metadata.read("meta-data/no-such-thing") }
    }

    @Test func refreshesBeforeExpiry() async throws {
        let server = try await Self.server(expiresIn: 120)  // inside the 300 s refresh margin
        defer { Task { await server.stop() } }
        let provider = InstanceMetadataCredentialProvider(endpoint: server.endpoint, timeout: .seconds(10))
        let first = try await provider.credentials()
        let second = try await provider.credentials()
        #expect(first.accessKeyId == "ASIAROLE1")
        #expect(second.accessKeyId == "ASIAROLE2")
        #expect(await provider.fetchCount == 2)
    }

    @Test func concurrentCallersShareOneRefresh() async throws {
        let server = try await Self.server(expiresIn: 3600)
        defer { Task { await server.stop() } }
        let provider = InstanceMetadataCredentialProvider(endpoint: server.endpoint, timeout: .seconds(10))
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await provider.credentials().accessKeyId } }
            for try await key in group { #expect(key == "ASIAROLE1") }
        }
        #expect(await provider.fetchCount == 1)
    }

    @Test func aFailedRefreshKeepsStillValidCredentials() async throws {
        let server = try await Self.server(expiresIn: 120, failAfter: 1)
        defer { Task { await server.stop() } }
        let provider = InstanceMetadataCredentialProvider(endpoint: server.endpoint, timeout: .seconds(10))
        #expect(try await provider.credentials().accessKeyId == "ASIAROLE1")
        #expect(try await provider.credentials().accessKeyId == "ASIAROLE1")
        #expect(await provider.fetchCount == 2)
    }

    /// AWS_METADATA_SERVICE_TIMEOUT as the SDKs take it: seconds, 1 by default; anything else is refused by name.
    @Test func theMetadataTimeoutComesFromTheEnvironment() throws {
        #expect(try InstanceMetadataClient.timeout([:]) == .seconds(1))
        #expect(try InstanceMetadataClient.timeout(["AWS_METADATA_SERVICE_TIMEOUT": "2.5"]) == .milliseconds(2500))
        #expect(InstanceMetadataClient(environment: ["AWS_METADATA_SERVICE_TIMEOUT": "5"]).timeout == .seconds(5))
        #expect {
            _ = try AWSSettings.resolve(environment: ["HOME": "/nonexistent", "AWS_REGION": "us-east-1", "AWS_METADATA_SERVICE_TIMEOUT": "soon"])
        } throws: { error in
            "\(error)".contains("AWS_METADATA_SERVICE_TIMEOUT") && "\(error)".contains("soon")
        }
    }

    /// A hang would end at the time limit; its duration is not asserted (timed assertions fail under load).
    @Test(.timeLimit(.minutes(1))) func unreachableMetadataServiceIsReportedInTheChain() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("imds-home-\(UUID().uuidString)").path
        let port = freeLocalPort()
        let settings = try AWSSettings.resolve(environment: [
            "HOME": home, "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)",
        ])
        await #expect {
            try await settings.credentials.credentials()
        } throws: { error in
            "\(error)".contains("No AWS credentials found") && "\(error)".contains("EC2 instance metadata (http://127.0.0.1:\(port) did not answer")
        }
    }
}
