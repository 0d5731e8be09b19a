import Crypto
import Foundation
import Synchronization

/// A request as SigV4 sees it. `path` is the path as sent on the wire (already percent-encoded);
/// `query` holds decoded names and values, which the signer and `URLEncoding.query` encode the same way.
package struct SignableRequest: Sendable, Equatable {
    package var method: String
    package var host: String  // "host" or "host:port", exactly the Host header
    package var path: String
    package var query: [QueryItem]
    package var headers: [(name: String, value: String)]

    package init(method: String, host: String, path: String, query: [QueryItem] = [], headers: [(name: String, value: String)] = []) {
        self.method = method
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
    }

    package static func == (lhs: SignableRequest, rhs: SignableRequest) -> Bool {
        lhs.method == rhs.method && lhs.host == rhs.host && lhs.path == rhs.path && lhs.query == rhs.query
            && lhs.headers.map { "\($0.name):\($0.value)" } == rhs.headers.map { "\($0.name):\($0.value)" }
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    package mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.equalsIgnoringASCIICase(name) }
        headers.append((name, value))
    }
}

extension String {
    /// Header names are ASCII tokens (RFC 9110), so they compare without Foundation's locale-aware case folding,
    /// which was a quarter of the CPU of signing a request (profiled).
    package func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { left, right in
            let folded = left | 0x20
            return left == right || (folded == right | 0x20 && folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z"))
        }
    }
}

package struct QueryItem: Sendable, Equatable, Hashable {
    package var name: String
    package var value: String
    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What stands in the canonical request for the body.
package enum PayloadHash: Sendable, Equatable {
    case unsigned
    case hex(String)

    package static let empty = PayloadHash.hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    package static func of<D: DataProtocol>(_ bytes: D) -> PayloadHash { .hex(SHA256.hash(data: bytes).hexString) }

    package var headerValue: String {
        switch self {
        case .unsigned: return "UNSIGNED-PAYLOAD"
        case .hex(let hex): return hex
        }
    }
}

/// AWS Signature Version 4 (header and presigned-query forms).
///
/// Written by hand: no Swift AWS SDK is available here. The rules follow the published SigV4 description;
/// the tests check the published test-suite vectors and compare with botocore on generated requests.
package struct SigV4Signer: Sendable {
    /// S3 signs the path exactly as sent; every other service signs it with dot segments and repeated
    /// slashes removed and percent-encoded once more.
    package enum PathRule: Sendable { case asSent, normalizedAndEncoded }

    package var credentials: AWSCredentials
    package var region: String
    package var service: String
    package var pathRule: PathRule
    /// Whether to add x-amz-content-sha256 (S3 requires it; others do not need it).
    package var sendsContentHashHeader: Bool

    package init(
        credentials: AWSCredentials, region: String, service: String,
        pathRule: PathRule? = nil, sendsContentHashHeader: Bool? = nil
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathRule = pathRule ?? (service == "s3" ? .asSent : .normalizedAndEncoded)
        self.sendsContentHashHeader = sendsContentHashHeader ?? (service == "s3")
    }

    static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// Adds X-Amz-Date, X-Amz-Security-Token, (for S3) X-Amz-Content-SHA256 and Authorization.
    package func sign(_ request: inout SignableRequest, payload: PayloadHash, date: Date = Date()) {
        let stamp = AmzDate(date)
        request.headers.removeAll { $0.name.equalsIgnoringASCIICase("authorization") }
        request.setHeader("X-Amz-Date", stamp.full)
        if let token = credentials.sessionToken { request.setHeader("X-Amz-Security-Token", token) }
        if sendsContentHashHeader { request.setHeader("X-Amz-Content-SHA256", payload.headerValue) }
        if request.header("host") == nil { request.setHeader("Host", request.host) }
        let (canonical, signedHeaders) = canonicalRequest(request, payload: payload)
        let signature = self.signature(canonicalRequest: canonical, stamp: stamp)
        request.setHeader(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope(stamp)), "
                + "SignedHeaders=\(signedHeaders), Signature=\(signature)")
    }

    /// A presigned URL's query (everything after `?`), valid for `expires` seconds; the payload is UNSIGNED-PAYLOAD
    /// and only the Host header is signed, so any HTTP client can use the URL as is.
    package func presignedQuery(_ request: SignableRequest, expires: Int, date: Date = Date()) -> String {
        let stamp = AmzDate(date)
        var request = request
        request.headers = [("Host", request.host)]
        var auth = [
            QueryItem("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            QueryItem("X-Amz-Credential", "\(credentials.accessKeyId)/\(scope(stamp))"),
            QueryItem("X-Amz-Date", stamp.full),
            QueryItem("X-Amz-Expires", String(expires)),
            QueryItem("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { auth.append(QueryItem("X-Amz-Security-Token", token)) }
        request.query += auth
        let (canonical, _) = canonicalRequest(request, payload: .unsigned)
        let signature = self.signature(canonicalRequest: canonical, stamp: stamp)
        return URLEncoding.queryString(request.query + [QueryItem("X-Amz-Signature", signature)])
    }

    /// The canonical request and the signed-header list, exposed for tests and debugging.
    package func canonicalRequest(_ request: SignableRequest, payload: PayloadHash) -> (String, String) {
        var grouped: [String: [String]] = [:]
        for header in request.headers {
            let name = header.name.lowercased()
            if Self.unsignedHeaders.contains(name) { continue }
            grouped[name, default: []].append(Self.trimAll(header.value))
        }
        if grouped["host"] == nil { grouped["host"] = [request.host] }
        let names = grouped.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let lines = [
            request.method.uppercased(),
            canonicalPath(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payload.headerValue,
        ]
        return (lines.joined(separator: "\n"), signedHeaders)
    }

    package func stringToSign(canonicalRequest: String, date: Date) -> String {
        stringToSign(canonicalRequest: canonicalRequest, stamp: AmzDate(date))
    }

    func stringToSign(canonicalRequest: String, stamp: AmzDate) -> String {
        let hash = SHA256.hash(data: Data(canonicalRequest.utf8)).hexString
        return "AWS4-HMAC-SHA256\n\(stamp.full)\n\(scope(stamp))\n\(hash)"
    }

    func signature(canonicalRequest: String, stamp: AmzDate) -> String {
        let toSign = stringToSign(canonicalRequest: canonicalRequest, stamp: stamp)
        let key = signingKey(day: stamp.day)
        return HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key).hexString
    }

    func signingKey(day: String) -> SymmetricKey {
        let cacheKey = SigningKeyCache.Key(secret: credentials.secretAccessKey, day: day, region: region, service: service)
        if let known = SigningKeyCache.shared.key(for: cacheKey) { return known }
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        let derived = hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
        SigningKeyCache.shared.keep(derived, for: cacheKey)
        return derived
    }

    func scope(_ stamp: AmzDate) -> String { "\(stamp.day)/\(region)/\(service)/aws4_request" }

    func canonicalPath(_ path: String) -> String {
        switch pathRule {
        case .asSent:
            return path.isEmpty ? "/" : path
        case .normalizedAndEncoded:
            return URLEncoding.encode(Self.removeDotSegments(path.isEmpty ? "/" : path), keepingSlash: true)
        }
    }

    static func canonicalQuery(_ items: [QueryItem]) -> String {
        let encoded: [(name: String, value: String)] = items.map { item in
            (URLEncoding.encode(item.name), URLEncoding.encode(item.value))
        }
        let sorted = encoded.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// RFC 3986 §5.2.4, plus the collapsing of repeated slashes that AWS services expect.
    static func removeDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
                continue
            }
            output.append(segment)
        }
        let leading = path.hasPrefix("/") ? "/" : ""
        let trailing = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return leading + output.joined(separator: "/") + trailing
    }

    /// Leading and trailing whitespace removed, inner runs of whitespace collapsed to one space.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }
}

/// The two date forms SigV4 uses, in UTC.
struct AmzDate {
    let full: String  // 20150830T123600Z
    let day: String  // 20150830

    init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        day = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        full = "\(day)T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}

/// Percent-encoding as AWS defines it: everything but A-Z a-z 0-9 - _ . ~ is encoded, byte by byte in UTF-8.
package enum URLEncoding {
    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)
    private static let unreserved: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        let isLetter = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        let isDigit = (0x30...0x39).contains(byte)
        return isLetter || isDigit || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
    }

    package static func encode(_ text: String, keepingSlash: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved[Int(byte)] || (keepingSlash && byte == 0x2F) {
                out.append(byte)
            } else {
                out.append(0x25)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&...` in the given order, each part encoded as `encode` does.
    package static func queryString(_ items: [QueryItem]) -> String {
        items.map { "\(encode($0.name))=\(encode($0.value))" }.joined(separator: "&")
    }

    /// Decodes `%XX` sequences (and, when `plusIsSpace`, `+`), as S3 event notifications and list
    /// responses with encoding-type=url need. Invalid sequences are kept literally.
    /// A request's query string as name/value pairs, decoded, in order. Pairs without `=` have an empty value,
    /// and an empty name or value stays empty (`=x`, `a=`, a lone `=`) rather than being dropped.
    package static func queryItems(_ query: String) -> [QueryItem] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { decode(String($0)) }
            return QueryItem(parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    package static func decode(_ text: String, plusIsSpace: Bool = false) -> String {
        var bytes = [UInt8]()
        let utf8 = Array(text.utf8)
        var index = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while index < utf8.count {
            let c = utf8[index]
            if c == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else if c == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(UInt8(ascii: " "))
                index += 1
            } else {
                bytes.append(c)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Digest {
    var hexString: String { Array(self).hexString }
}

extension HashedAuthenticationCode {
    var hexString: String { Array(self).hexString }
}

/// Derived signing keys by secret, day, region and service: a key is good for a whole day, and deriving it is
/// four HMACs, most of the cost of signing a small request.
final class SigningKeyCache: Sendable {
    struct Key: Hashable, Sendable {
        var secret: String
        var day: String
        var region: String
        var service: String
    }

    static let shared = SigningKeyCache()
    /// The keys' bytes (SymmetricKey itself is not Sendable).
    private let keys = Mutex<[Key: Data]>([:])

    func key(for key: Key) -> SymmetricKey? { keys.withLock { $0[key] }.map { SymmetricKey(data: $0) } }

    func keep(_ derived: SymmetricKey, for key: Key) {
        let bytes = derived.withUnsafeBytes { Data($0) }
        keys.withLock { keys in
            // A day's keys for a few credentials and services; yesterday's go with the first key of a new day.
            if keys.count >= 64 { keys.removeAll() }
            keys[key] = bytes
        }
    }
}
