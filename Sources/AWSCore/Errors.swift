import Foundation

/// Something about the local AWS settings is wrong; the message says what to set.
package enum AWSConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case noCredentials(triedSources: [String])
    case profileNotFound(profile: String, files: [String])
    case incompleteProfile(profile: String, file: String, missing: String)
    case malformedFile(path: String, line: Int, reason: String)
    case invalidEndpoint(setting: String, value: String, reason: String)
    case noRegion
    case invalidSetting(setting: String, value: String, reason: String)

    package var description: String {
        switch self {
        case .noCredentials(let tried):
            return "No AWS credentials found (looked in: \(tried.joined(separator: ", "))). "
                + "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile "
                + "in ~/.aws/credentials, or run on an EC2 instance with an instance role."
        case .profileNotFound(let profile, let files):
            let where_ = files.isEmpty ? "no ~/.aws/config or ~/.aws/credentials exists" : "not in \(files.joined(separator: " or "))"
            return "The AWS profile '\(profile)' could not be found (\(where_)). "
                + "Check AWS_PROFILE, or add [\(profile)] to ~/.aws/credentials."
        case .incompleteProfile(let profile, let file, let missing):
            return "The AWS profile '\(profile)' in \(file) has no \(missing). Add '\(missing) = ...' under [\(profile)]."
        case .malformedFile(let path, let line, let reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        case .invalidEndpoint(let setting, let value, let reason):
            return "\(setting) '\(value)' is not a usable endpoint: \(reason). "
                + "Use a URL such as http://127.0.0.1:5000 or https://s3.us-east-1.amazonaws.com."
        case .noRegion:
            return "No AWS region configured. Set AWS_REGION (or AWS_DEFAULT_REGION), or 'region = ...' in the profile in ~/.aws/config."
        case .invalidSetting(let setting, let value, let reason):
            return "\(setting) '\(value)' is invalid: \(reason)."
        }
    }
}

/// The service answered with an error document (or an error status without one).
package struct AWSServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    package var service: String
    package var operation: String
    package var code: String
    package var message: String
    package var statusCode: Int
    package var requestId: String?

    package init(service: String, operation: String, code: String, message: String, statusCode: Int, requestId: String? = nil) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.requestId = requestId
    }

    package var description: String {
        var text = "\(service) \(operation) failed: \(code) (HTTP \(statusCode))"
        if !message.isEmpty {
            text += ": \(message)"
            while text.hasSuffix(".") { text.removeLast() }
        }
        if let hint { text += ". \(hint)" }
        if let requestId, !requestId.isEmpty { text += " [request id \(requestId)]" }
        return text
    }

    /// What a user should change, for the errors that are about their own settings rather than the request.
    package var hint: String? {
        switch code {
        case "SignatureDoesNotMatch", "AuthFailure", "IncompleteSignature":
            return "The secret key does not match the access key: check AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key"
        case "InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException":
            return "The access key is not known to the service: check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id, and the endpoint"
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired":
            return "The credentials have expired: refresh AWS_SESSION_TOKEN (or the profile's session) and try again"
        case "RequestTimeTooSkewed":
            return "This machine's clock differs too much from the service's: fix the clock"
        default:
            return nil
        }
    }
}

/// The request never got an answer: the endpoint is unreachable, the connection broke, or time ran out.
package struct AWSTransportError: Error, Sendable, CustomStringConvertible {
    package enum Reason: Sendable, Equatable { case unreachable, timedOut, connectionLost, malformedResponse }
    package var reason: Reason
    package var endpoint: String
    package var detail: String
    package var attempts: Int

    package init(reason: Reason, endpoint: String, detail: String, attempts: Int = 1) {
        self.reason = reason
        self.endpoint = endpoint
        self.detail = detail
        self.attempts = attempts
    }

    package var description: String {
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        switch reason {
        case .unreachable:
            return "Cannot reach \(endpoint)\(tries): \(detail). Check the endpoint (AWS_ENDPOINT_URL) and that the service is running."
        case .timedOut:
            return "No answer from \(endpoint)\(tries): \(detail)."
        case .connectionLost:
            return "The connection to \(endpoint) was lost\(tries): \(detail)."
        case .malformedResponse:
            return "\(endpoint) sent a response that could not be read: \(detail)."
        }
    }
}
