import Foundation
import Testing

@testable import AWSCore

@Suite struct SettingsTests {
    /// A scratch HOME with the given ~/.aws files.
    func home(config: String? = nil, credentials: String? = nil) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aws-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        if let config { try config.write(to: directory.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8) }
        if let credentials {
            try credentials.write(to: directory.appendingPathComponent(".aws/credentials"), atomically: true, encoding: .utf8)
        }
        return directory.path
    }

    func resolve(_ environment: [String: String]) throws -> AWSSettings {
        var environment = environment
        environment["AWS_EC2_METADATA_DISABLED"] = environment["AWS_EC2_METADATA_DISABLED"] ?? "true"
        return try AWSSettings.resolve(environment: environment)
    }

    @Test func environmentCredentialsWin() async throws {
        let home = try home(credentials: "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
        let settings = try resolve([
            "HOME": home, "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ENVKEY",
            "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok",
        ])
        let credentials = try await settings.credentials.credentials()
        #expect(credentials.accessKeyId == "ENVKEY")
        #expect(credentials.sessionToken == "tok")
        #expect(credentials.source == "environment")
        #expect(settings.region == "eu-west-1")
        #expect(!"\(credentials)".contains("envsecret"))
    }

    @Test func profileFromBothFilesWithRegionAndSubKeys() async throws {
        let home = try home(
            config: """
                # comment
                [default]
                region = us-west-2
                [profile dev]
                region = ap-south-1
                s3 =
                  addressing_style = path
                endpoint_url = http://127.0.0.1:9999
                """,
            credentials: """
                [dev]
                aws_access_key_id = DEVKEY
                aws_secret_access_key = devsecret
                ; another comment
                aws_session_token = devtoken
                """)
        let settings = try resolve(["HOME": home, "AWS_PROFILE": "dev"])
        let credentials = try await settings.credentials.credentials()
        #expect(credentials.accessKeyId == "DEVKEY")
        #expect(credentials.sessionToken == "devtoken")
        #expect(credentials.source.contains("profile 'dev'"))
        #expect(settings.region == "ap-south-1")
        #expect(try settings.endpoint(for: .s3).description == "http://127.0.0.1:9999")
        #expect(settings.files.config?.section("dev")?["s3.addressing_style"] == "path")
    }

    @Test func customFileLocationsAndRegionPrecedence() async throws {
        let directory = try home()
        let config = directory + "/elsewhere-config"
        let credentials = directory + "/elsewhere-credentials"
        try "[default]\nregion = sa-east-1\n".write(toFile: config, atomically: true, encoding: .utf8)
        try "[default]\naws_access_key_id = K\naws_secret_access_key = S\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        let fromFile = try resolve(["HOME": directory, "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials])
        #expect(fromFile.region == "sa-east-1")
        #expect(try await fromFile.credentials.credentials().accessKeyId == "K")
        let defaultRegion = try resolve(["HOME": directory, "AWS_CONFIG_FILE": config, "AWS_DEFAULT_REGION": "eu-north-1"])
        #expect(defaultRegion.region == "eu-north-1")
        let region = try resolve(["HOME": directory, "AWS_CONFIG_FILE": config, "AWS_DEFAULT_REGION": "eu-north-1", "AWS_REGION": "us-east-2"])
        #expect(region.region == "us-east-2")
    }

    @Test func endpointPrecedence() throws {
        let home = try home(
            config: """
                [default]
                region = us-east-1
                endpoint_url = http://127.0.0.1:1111
                services = local
                [services local]
                sqs =
                  endpoint_url = http://127.0.0.1:2222
                """)
        let plain = try resolve(["HOME": home])
        #expect(try plain.endpoint(for: .s3).description == "http://127.0.0.1:1111")
        #expect(try plain.endpoint(for: .sqs).description == "http://127.0.0.1:2222")
        let global = try resolve(["HOME": home, "AWS_ENDPOINT_URL": "http://127.0.0.1:3333/"])
        #expect(try global.endpoint(for: .s3).description == "http://127.0.0.1:3333")
        #expect(try global.endpoint(for: .sqs).description == "http://127.0.0.1:2222")
        let specific = try resolve(["HOME": home, "AWS_ENDPOINT_URL": "http://127.0.0.1:3333", "AWS_ENDPOINT_URL_S3": "https://127.0.0.1:4444"])
        #expect(try specific.endpoint(for: .s3).description == "https://127.0.0.1:4444")
        let ignored = try resolve(["HOME": home, "AWS_ENDPOINT_URL": "http://127.0.0.1:3333", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"])
        #expect(try ignored.endpoint(for: .s3).description == "https://s3.us-east-1.amazonaws.com")
        #expect(try ignored.endpoint(for: .iam).description == "https://iam.amazonaws.com")
        #expect(try ignored.endpoint(for: .s3).isCustom == false)
    }

    @Test(arguments: [
        ("127.0.0.1:5000", "it is not a URL"),
        ("ftp://127.0.0.1", "the scheme must be http or https"),
        ("http://", "it has no host"),
        ("http://127.0.0.1:99999", "the port must be between 1 and 65535"),
        ("http://127.0.0.1:5000/?a=b", "cannot carry a query"),
    ])
    func badEndpointsAreNamed(_ value: String, _ reason: String) throws {
        let settings = try resolve(["HOME": try home(), "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": value])
        do {
            _ = try settings.endpoint(for: .s3)
            Issue.record("\(value) was accepted")
        } catch {
            #expect(error.description.contains("AWS_ENDPOINT_URL_S3 '\(value)'"))
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test func unknownProfileIsNamed() throws {
        let home = try home(credentials: "[default]\naws_access_key_id = K\naws_secret_access_key = S\n")
        #expect {
            try resolve(["HOME": home, "AWS_PROFILE": "nope", "AWS_REGION": "us-east-1"])
        } throws: { error in
            "\(error)".contains("The AWS profile 'nope' could not be found") && "\(error)".contains("/.aws/credentials")
        }
    }

    @Test func malformedFilesGiveFileAndLine() throws {
        for (text, line, words) in [
            ("[default]\nregion = us-east-1\nthis line has no equals\n", 3, "expected 'key = value'"),
            ("region = us-east-1\n", 1, "before any [section]"),
            ("[default\nregion = x\n", 1, "closing ']'"),
            ("[default]\n = value\n", 2, "no key"),
        ] {
            let home = try home(config: text)
            #expect {
                try resolve(["HOME": home, "AWS_REGION": "us-east-1"])
            } throws: { error in
                "\(error)".contains("/.aws/config:\(line): ") && "\(error)".contains(words)
            }
        }
    }

    @Test func missingCredentialsSayWhatToSet() async throws {
        let settings = try resolve(["HOME": try home(), "AWS_REGION": "us-east-1"])
        await #expect {
            try await settings.credentials.credentials()
        } throws: { error in
            let text = "\(error)"
            return text.contains("No AWS credentials found") && text.contains("AWS_ACCESS_KEY_ID")
                && text.contains("AWS_PROFILE") && text.contains("disabled by AWS_EC2_METADATA_DISABLED")
        }
    }

    @Test func halfSetCredentialsAreRefused() async throws {
        #expect { try resolve(["HOME": try home(), "AWS_REGION": "us-east-1", "AWS_PROFILE": "x", "AWS_ACCESS_KEY_ID": "K"]) } throws: { _ in true }
        let settings = try resolve(["HOME": try home(), "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "K"])
        await #expect { try await settings.credentials.credentials() } throws: { error in
            "\(error)".contains("AWS_SECRET_ACCESS_KEY is not")
        }
        let profile = try home(credentials: "[default]\naws_access_key_id = K\n")
        let incomplete = try resolve(["HOME": profile, "AWS_REGION": "us-east-1"])
        await #expect { try await incomplete.credentials.credentials() } throws: { error in
            "\(error)".contains("has no aws_secret_access_key")
        }
    }

    @Test func noRegionAndBadSettings() throws {
        #expect { try resolve(["HOME": try home()]) } throws: { error in "\(error)".contains("Set AWS_REGION") }
        #expect { try resolve(["HOME": try home(), "AWS_REGION": "Not A Region"]) } throws: { error in "\(error)".contains("us-east-1") }
        #expect { try resolve(["HOME": try home(), "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "zero"]) } throws: { error in
            "\(error)".contains("AWS_MAX_ATTEMPTS 'zero'")
        }
        #expect(try resolve(["HOME": try home(), "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "7"]).retry.maxAttempts == 7)
    }

    @Test func fullJitterStaysUnderTheCeiling() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 0.1, maxBackoff: 1)
        #expect(policy.delay(beforeRetry: 1, random: 1) == 0.1)
        #expect(policy.delay(beforeRetry: 3, random: 1) == 0.4)
        #expect(policy.delay(beforeRetry: 10, random: 1) == 1)
        #expect(policy.delay(beforeRetry: 3, random: 0) == 0)
    }
}
