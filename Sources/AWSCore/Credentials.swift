import Foundation

package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    package var accessKeyId: String
    package var secretAccessKey: String
    package var sessionToken: String?
    package var expiration: Date?
    /// Where they came from, for messages ("environment", "profile 'dev' in /root/.aws/credentials", ...).
    package var source: String

    package init(
        accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil,
        expiration: Date? = nil, source: String = "static"
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    /// Never prints the secret or the token.
    package var description: String { "AWSCredentials(\(accessKeyId), from \(source))" }

    package func isExpired(at now: Date = Date(), margin: TimeInterval = 0) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) <= margin
    }
}

/// The seam every client asks for credentials; implementations refresh on their own schedule.
package protocol CredentialProvider: Sendable {
    func credentials() async throws -> AWSCredentials
}

package struct StaticCredentialProvider: CredentialProvider {
    package let value: AWSCredentials
    package init(_ value: AWSCredentials) { self.value = value }
    package func credentials() async throws -> AWSCredentials { value }
}

/// Resolves the first source that has credentials, the way the AWS CLI orders them: the environment,
/// the shared files' profile, then the EC2 instance role. The choice is made once; an instance-role
/// provider then refreshes itself.
package actor CredentialChain: CredentialProvider {
    private let environment: [String: String]
    private let files: SharedFiles
    private let profile: String
    private let instanceRole: InstanceMetadataCredentialProvider?
    private var chosen: (any CredentialProvider)?

    init(
        environment: [String: String], files: SharedFiles, profile: String,
        instanceRole: InstanceMetadataCredentialProvider?
    ) {
        self.environment = environment
        self.files = files
        self.profile = profile
        self.instanceRole = instanceRole
    }

    package func credentials() async throws -> AWSCredentials {
        if let chosen { return try await chosen.credentials() }
        var tried: [String] = []
        if let fromEnvironment = try Self.environmentCredentials(environment) {
            chosen = StaticCredentialProvider(fromEnvironment)
            return fromEnvironment
        }
        tried.append("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        if let fromProfile = try files.profileCredentials(profile) {
            chosen = StaticCredentialProvider(fromProfile)
            return fromProfile
        }
        tried.append("profile '\(profile)' in \(files.credentialsPath) and \(files.configPath)")
        if let instanceRole {
            do {
                let value = try await instanceRole.credentials()
                chosen = instanceRole
                return value
            } catch let error as InstanceMetadataError {
                tried.append("EC2 instance metadata (\(error.description))")
            }
        } else {
            tried.append("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)")
        }
        throw AWSConfigurationError.noCredentials(triedSources: tried)
    }

    static func environmentCredentials(_ environment: [String: String]) throws(AWSConfigurationError) -> AWSCredentials? {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw .invalidSetting(
                setting: "AWS_ACCESS_KEY_ID", value: key!,
                reason: "it is set but AWS_SECRET_ACCESS_KEY is not; set both, or neither to use a profile")
        case (nil, .some):
            throw .invalidSetting(
                setting: "AWS_SECRET_ACCESS_KEY", value: "(hidden)",
                reason: "it is set but AWS_ACCESS_KEY_ID is not; set both, or neither to use a profile")
        case (.some(let key), .some(let secret)):
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: token, source: "environment")
        }
    }
}

/// ~/.aws/config and ~/.aws/credentials (or the files AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE name).
struct SharedFiles: Sendable {
    var configPath: String
    var credentialsPath: String
    var config: SharedConfigFile?
    var credentials: SharedConfigFile?

    init(configPath: String, credentialsPath: String, config: SharedConfigFile?, credentials: SharedConfigFile?) {
        self.configPath = configPath
        self.credentialsPath = credentialsPath
        self.config = config
        self.credentials = credentials
    }

    init(environment: [String: String]) throws(AWSConfigurationError) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        func expand(_ path: String) -> String { path.hasPrefix("~/") ? home + path.dropFirst(1) : path }
        configPath = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config")
        credentialsPath = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
        config = try SharedConfigFile.load(path: configPath, kind: .config)
        credentials = try SharedConfigFile.load(path: credentialsPath, kind: .credentials)
    }

    func hasProfile(_ name: String) -> Bool {
        config?.section(name) != nil || credentials?.section(name) != nil
    }

    /// A profile setting; the credentials file wins over the config file, as in the CLI.
    func value(_ key: String, profile: String) -> String? {
        if let value = credentials?.section(profile)?[key], !value.isEmpty { return value }
        if let value = config?.section(profile)?[key], !value.isEmpty { return value }
        return nil
    }

    func profileCredentials(_ profile: String) throws(AWSConfigurationError) -> AWSCredentials? {
        let key = value("aws_access_key_id", profile: profile)
        let secret = value("aws_secret_access_key", profile: profile)
        let file = credentials?.section(profile) != nil ? credentialsPath : configPath
        switch (key, secret) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw .incompleteProfile(profile: profile, file: file, missing: "aws_secret_access_key")
        case (nil, .some):
            throw .incompleteProfile(profile: profile, file: file, missing: "aws_access_key_id")
        case (.some(let key), .some(let secret)):
            return AWSCredentials(
                accessKeyId: key, secretAccessKey: secret,
                sessionToken: value("aws_session_token", profile: profile),
                source: "profile '\(profile)' in \(file)")
        }
    }
}
