import Foundation

/// A service as the settings and the signer know it.
package struct AWSServiceID: Sendable, Hashable {
    /// SigV4's service name ("s3", "sqs", ...).
    package var signingName: String
    /// The host prefix of the public endpoint.
    package var endpointPrefix: String
    /// The name in AWS_ENDPOINT_URL_<NAME> and in a profile's services section.
    package var settingName: String
    /// IAM and similar services have one endpoint for all regions.
    package var isGlobal: Bool

    package init(signingName: String, endpointPrefix: String? = nil, settingName: String, isGlobal: Bool = false) {
        self.signingName = signingName
        self.endpointPrefix = endpointPrefix ?? signingName
        self.settingName = settingName
        self.isGlobal = isGlobal
    }

    package static let s3 = AWSServiceID(signingName: "s3", settingName: "S3")
    package static let sqs = AWSServiceID(signingName: "sqs", settingName: "SQS")
    package static let sts = AWSServiceID(signingName: "sts", settingName: "STS")
    package static let iam = AWSServiceID(signingName: "iam", settingName: "IAM", isGlobal: true)
    package static let ec2 = AWSServiceID(signingName: "ec2", settingName: "EC2")
    package static let fsx = AWSServiceID(signingName: "fsx", settingName: "FSX")
    package static let cloudFormation = AWSServiceID(signingName: "cloudformation", settingName: "CLOUDFORMATION")
    package static let secretsManager = AWSServiceID(signingName: "secretsmanager", settingName: "SECRETS_MANAGER")
    /// Elastic Load Balancing v2 (network load balancers): botocore's service id is "Elastic Load Balancing v2".
    package static let elasticLoadBalancingV2 = AWSServiceID(signingName: "elasticloadbalancing", settingName: "ELASTIC_LOAD_BALANCING_V2")
}

/// Where requests go: scheme, host, port, and any base path an override URL carries.
package struct AWSEndpoint: Sendable, Equatable, CustomStringConvertible {
    package var scheme: String
    package var host: String
    package var port: Int
    package var basePath: String
    /// True when a setting chose it; S3 then uses path-style addressing.
    package var isCustom: Bool

    package var isTLS: Bool { scheme == "https" }
    /// The Host header: the port only when it is not the scheme's default.
    package var hostHeader: String {
        let defaultPort = isTLS ? 443 : 80
        let name = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? name : "\(name):\(port)"
    }
    package var description: String { "\(scheme)://\(hostHeader)\(basePath)" }

    /// Parses an endpoint setting; `setting` names it in the error.
    package init(parsing text: String, setting: String) throws(AWSConfigurationError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw .invalidEndpoint(setting: setting, value: text, reason: "it is not a URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw .invalidEndpoint(setting: setting, value: text, reason: "the scheme must be http or https, not '\(scheme)'")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidEndpoint(setting: setting, value: text, reason: "it has no host")
        }
        if components.query != nil || components.fragment != nil {
            throw .invalidEndpoint(setting: setting, value: text, reason: "an endpoint cannot carry a query or fragment")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw .invalidEndpoint(setting: setting, value: text, reason: "the port must be between 1 and 65535")
        }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path
        self.isCustom = true
    }

    package init(scheme: String, host: String, port: Int? = nil, basePath: String = "", isCustom: Bool) {
        self.scheme = scheme
        self.host = host
        self.port = port ?? (scheme == "https" ? 443 : 80)
        self.basePath = basePath
        self.isCustom = isCustom
    }
}

/// Retry behaviour: standard mode's three attempts unless AWS_MAX_ATTEMPTS or max_attempts says otherwise.
package struct RetryPolicy: Sendable, Equatable {
    package var maxAttempts: Int
    /// The first backoff's ceiling; each later one doubles, up to `maxBackoff` (full jitter below the ceiling).
    package var baseDelay: Double
    package var maxBackoff: Double

    package init(maxAttempts: Int = 3, baseDelay: Double = 0.1, maxBackoff: Double = 20) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
    }

    /// Full jitter: uniformly random in [0, min(maxBackoff, baseDelay · 2^retry)].
    package func delay(beforeRetry retry: Int, random: Double = Double.random(in: 0...1)) -> Double {
        let ceiling = min(maxBackoff, baseDelay * pow(2, Double(max(0, retry - 1))))
        return ceiling * random
    }
}

/// Everything resolved from the environment and the shared files, once, as the AWS CLI resolves it.
package struct AWSSettings: Sendable {
    package var profile: String
    package var region: String
    package var credentials: any CredentialProvider
    package var retry: RetryPolicy
    /// Per-attempt time limit for ordinary calls.
    package var requestTimeout: Double
    let environment: [String: String]
    let files: SharedFiles

    package static func resolve(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        profile explicitProfile: String? = nil,
        region explicitRegion: String? = nil
    ) throws(AWSConfigurationError) -> AWSSettings {
        let files = try SharedFiles(environment: environment)
        let named =
            explicitProfile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_DEFAULT_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        let profile = named ?? "default"
        // A profile the user named must exist unless the environment carries the keys anyway.
        if let named, !files.hasProfile(named), try CredentialChain.environmentCredentials(environment) == nil {
            throw .profileNotFound(
                profile: named,
                files: [files.configPath, files.credentialsPath]
                    .filter { FileManager.default.fileExists(atPath: $0) })
        }
        let region =
            explicitRegion
            ?? environment["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 }
            ?? files.value("region", profile: profile)
        guard let region else { throw .noRegion }
        guard region.range(of: "^[a-z0-9-]{1,64}$", options: .regularExpression) != nil else {
            throw .invalidSetting(setting: "region", value: region, reason: "a region looks like us-east-1")
        }
        var attempts = 3
        if let text = environment["AWS_MAX_ATTEMPTS"] ?? files.value("max_attempts", profile: profile) {
            guard let value = Int(text), value >= 1 else {
                throw .invalidSetting(setting: "AWS_MAX_ATTEMPTS", value: text, reason: "it must be a whole number of at least 1")
            }
            attempts = value
        }
        let metadataTimeout = try InstanceMetadataClient.timeout(environment)
        let metadataDisabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        let metadataEndpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        if !metadataDisabled { _ = try AWSEndpoint(parsing: metadataEndpoint, setting: "AWS_EC2_METADATA_SERVICE_ENDPOINT") }
        let chain = CredentialChain(
            environment: environment, files: files, profile: profile,
            instanceRole: metadataDisabled ? nil : InstanceMetadataCredentialProvider(endpoint: metadataEndpoint, timeout: metadataTimeout))
        return AWSSettings(
            profile: profile, region: region, credentials: chain,
            retry: RetryPolicy(maxAttempts: attempts), requestTimeout: 60,
            environment: environment, files: files)
    }

    /// The region the environment or the profile names, as `resolve` finds it; nil when none does (or the
    /// shared files cannot be read, which `resolve` reports when it is called).
    package static func configuredRegion(environment: [String: String]) -> String? {
        if let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !region.isEmpty { return region }
        guard let files = try? SharedFiles(environment: environment) else { return nil }
        let profile =
            environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_DEFAULT_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return files.value("region", profile: profile)
    }

    /// For tests and embedding: fixed credentials and region, endpoints from `environment` only.
    package init(
        region: String, credentials: any CredentialProvider, environment: [String: String] = [:],
        retry: RetryPolicy = RetryPolicy(), requestTimeout: Double = 60
    ) {
        self.profile = "default"
        self.region = region
        self.credentials = credentials
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.environment = environment
        self.files = SharedFiles.none
    }

    init(
        profile: String, region: String, credentials: any CredentialProvider, retry: RetryPolicy,
        requestTimeout: Double, environment: [String: String], files: SharedFiles
    ) {
        self.profile = profile
        self.region = region
        self.credentials = credentials
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.environment = environment
        self.files = files
    }

    /// The endpoint for a service: AWS_ENDPOINT_URL_<SERVICE>, the profile's services section,
    /// AWS_ENDPOINT_URL, the profile's endpoint_url, then the public AWS endpoint.
    package func endpoint(for service: AWSServiceID) throws(AWSConfigurationError) -> AWSEndpoint {
        let ignoreConfigured = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        if !ignoreConfigured {
            let specific = "AWS_ENDPOINT_URL_\(service.settingName)"
            if let value = environment[specific], !value.isEmpty {
                return try AWSEndpoint(parsing: value, setting: specific)
            }
            if let servicesName = files.value("services", profile: profile),
                let value = files.config?.section("services \(servicesName)")?["\(service.settingName.lowercased()).endpoint_url"]
            {
                return try AWSEndpoint(parsing: value, setting: "[services \(servicesName)] \(service.settingName.lowercased()).endpoint_url")
            }
            if let value = environment["AWS_ENDPOINT_URL"], !value.isEmpty {
                return try AWSEndpoint(parsing: value, setting: "AWS_ENDPOINT_URL")
            }
            if let value = files.value("endpoint_url", profile: profile) {
                return try AWSEndpoint(parsing: value, setting: "endpoint_url in profile '\(profile)'")
            }
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        let host = service.isGlobal ? "\(service.endpointPrefix).\(suffix)" : "\(service.endpointPrefix).\(region).\(suffix)"
        return AWSEndpoint(scheme: "https", host: host, isCustom: false)
    }
}

extension SharedFiles {
    static let none = SharedFiles(configPath: "", credentialsPath: "", config: nil, credentials: nil)
}
