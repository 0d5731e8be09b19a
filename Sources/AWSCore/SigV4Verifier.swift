import Crypto
import Foundation

/// Why a request's signature was refused, with the error code AWS services answer with.
package struct SigV4Failure: Error, Sendable, Equatable, CustomStringConvertible {
    package var code: String
    package var message: String
    package var description: String { "\(code): \(message)" }
}

/// The server side of SigV4 (header form): checks that a request was signed, recently, for this service,
/// by a key this service knows, and that the signature matches. Written by hand beside the signer it
/// mirrors; the tests sign with `SigV4Signer` and with the AWS CLI.
package enum SigV4Verifier {
    /// How far a request's X-Amz-Date may be from now (AWS allows 15 minutes).
    package static let allowedSkew: TimeInterval = 15 * 60

    /// Returns the access key id that signed the request, or why the request is refused.
    package static func verify(
        method: String, path: String, query: [QueryItem], headers: [(name: String, value: String)],
        body: Data, service: String, now: Date = Date(),
        credentials: (String) -> AWSCredentials?
    ) -> Result<String, SigV4Failure> {
        func header(_ name: String) -> String? {
            headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
        }
        guard let authorization = header("Authorization") else {
            return .failure(SigV4Failure(code: "MissingAuthenticationTokenException", message: "Missing Authentication Token"))
        }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return .failure(
                SigV4Failure(
                    code: "IncompleteSignatureException",
                    message: "Only AWS4-HMAC-SHA256 (Signature Version 4) is supported"))
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"], let signature = fields["Signature"] else {
            return .failure(
                SigV4Failure(
                    code: "IncompleteSignatureException",
                    message: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'"))
        }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            return .failure(
                SigV4Failure(code: "IncompleteSignatureException", message: "Credential '\(credential)' is not KEY/DATE/REGION/SERVICE/aws4_request"))
        }
        let (keyId, day, region, signedService) = (scope[0], scope[1], scope[2], scope[3])
        guard signedService == service else {
            return .failure(SigV4Failure(code: "InvalidSignatureException", message: "Credential should be scoped to correct service: '\(service)'."))
        }
        guard let stampText = header("X-Amz-Date"), let date = parse(stampText) else {
            return .failure(SigV4Failure(code: "IncompleteSignatureException", message: "X-Amz-Date is missing or not yyyyMMddTHHmmssZ"))
        }
        guard stampText.hasPrefix(day) else {
            return .failure(
                SigV4Failure(
                    code: "InvalidSignatureException", message: "Credential should be scoped to a valid date: '\(String(stampText.prefix(8)))'."))
        }
        guard abs(date.timeIntervalSince(now)) <= allowedSkew else {
            return .failure(
                SigV4Failure(
                    code: "InvalidSignatureException",
                    message: "Signature expired: \(stampText) is more than 15 minutes from the service's time \(AmzDate(now).full)."))
        }
        guard var known = credentials(keyId) else {
            return .failure(SigV4Failure(code: "UnrecognizedClientException", message: "The security token included in the request is invalid."))
        }
        let signedNames = signedList.split(separator: ";").map { $0.lowercased() }
        guard signedNames.contains("host") else {
            return .failure(SigV4Failure(code: "InvalidSignatureException", message: "The Host header must be signed."))
        }
        // The token is part of what was signed when there is one; it must be the one the service knows.
        if let token = header("X-Amz-Security-Token") {
            guard known.sessionToken == token else {
                return .failure(SigV4Failure(code: "UnrecognizedClientException", message: "The security token included in the request is invalid."))
            }
        }
        known.sessionToken = header("X-Amz-Security-Token")
        let signedHeaders = headers.filter { signedNames.contains($0.name.lowercased()) }
        let host = header("Host") ?? ""
        let request = SignableRequest(method: method, host: host, path: path, query: query, headers: signedHeaders)
        let payload = header("X-Amz-Content-SHA256").map { $0 == "UNSIGNED-PAYLOAD" ? PayloadHash.unsigned : .hex($0) } ?? .of(body)
        let signer = SigV4Signer(credentials: known, region: region, service: service)
        let (canonical, _) = signer.canonicalRequest(request, payload: payload)
        let expected = signer.signature(canonicalRequest: canonical, stamp: AmzDate(date))
        guard constantTimeEqual(expected, signature) else {
            return .failure(
                SigV4Failure(
                    code: "InvalidSignatureException",
                    message:
                        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
                ))
        }
        return .success(keyId)
    }

    static func parse(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: digits[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let dayOfMonth = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = dayOfMonth
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        guard seconds >= 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
