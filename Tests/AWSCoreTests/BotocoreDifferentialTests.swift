import Foundation
import TestSupport
import Testing

@testable import AWSCore

/// Our signer and botocore's, on the same few hundred generated requests: odd keys, unicode, query
/// strings, repeated whitespace in headers, unsigned payloads, session tokens, presigned URLs.
@Suite struct BotocoreDifferentialTests {
    struct Case: Decodable {
        var service: String
        var method: String
        var host: String
        var path: String
        var region: String
        var query: [[String]]
        var headers: [[String]]
        var body: String
        var unsigned: Bool
        var accessKey: String
        var secret: String
        var token: String?
        var canonical: String
        var authorization: String
        var presignedQuery: String?
    }

    static let date = Date(timeIntervalSince1970: 1_795_610_096)  // 2026-11-25T12:34:56Z

    @Test func signaturesMatchBotocore() async throws {
        let script = TestPaths.repository.appendingPathComponent("Tests/Support/botocore-sigv4-cases.py").path
        let result = try await runCommand(["python3", script, "400", "20261125"])
        try #require(result.status == 0, "botocore case generator failed: \(result.stderr)")
        let cases = try JSONDecoder().decode([Case].self, from: result.stdout)
        #expect(cases.count == 400)
        var presigned = 0
        for (index, item) in cases.enumerated() {
            let credentials = AWSCredentials(accessKeyId: item.accessKey, secretAccessKey: item.secret, sessionToken: item.token)
            let signer = SigV4Signer(
                credentials: credentials, region: item.region, service: item.service,
                sendsContentHashHeader: item.service == "s3" || item.unsigned)
            let endpoint = try AWSEndpoint(parsing: "\(item.unsigned ? "https" : "http")://\(item.host)", setting: "test")
            var request = SignableRequest(
                method: item.method, host: endpoint.hostHeader, path: item.path,
                query: item.query.map { QueryItem($0[0], $0[1]) },
                headers: item.headers.map { ($0[0], $0[1]) })
            let payload: PayloadHash = item.unsigned ? .unsigned : .of(Data(item.body.utf8))
            let (canonical, _) = signer.canonicalRequest(Self.withSigningHeaders(request, signer, payload), payload: payload)
            #expect(canonical == item.canonical, "case \(index) (\(item.service) \(item.method) \(item.path))")
            signer.sign(&request, payload: payload, date: Self.date)
            #expect(request.header("Authorization") == item.authorization, "case \(index)")
            if let expected = item.presignedQuery {
                presigned += 1
                // The generator presigns plain-http URLs.
                let plain = try AWSEndpoint(parsing: "http://\(item.host)", setting: "test")
                let unsignedRequest = SignableRequest(
                    method: item.method, host: plain.hostHeader, path: item.path,
                    query: item.query.map { QueryItem($0[0], $0[1]) })
                let s3Signer = SigV4Signer(credentials: credentials, region: item.region, service: "s3")
                #expect(s3Signer.presignedQuery(unsignedRequest, expires: 900, date: Self.date) == expected, "presigned case \(index)")
            }
        }
        #expect(presigned > 50)
    }

    /// The headers `sign` adds, so the canonical request can be compared before signing.
    static func withSigningHeaders(_ request: SignableRequest, _ signer: SigV4Signer, _ payload: PayloadHash) -> SignableRequest {
        var copy = request
        copy.setHeader("X-Amz-Date", "20261125T123456Z")
        if let token = signer.credentials.sessionToken { copy.setHeader("X-Amz-Security-Token", token) }
        if signer.sendsContentHashHeader { copy.setHeader("X-Amz-Content-SHA256", payload.headerValue) }
        return copy
    }
}
