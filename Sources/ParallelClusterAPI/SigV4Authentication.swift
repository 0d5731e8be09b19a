import AWSCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// API Gateway's IAM authorization: every request must carry a SigV4 signature for `execute-api` by a key
/// the server knows. The body is collected here (its hash is part of what was signed) and handed on
/// collected, so the handler reads it again. A refusal is the spec's 401 UnauthorizedClientError with the
/// verifier's reason; nothing runs.
package struct SigV4Authentication<Context: RequestContext>: RouterMiddleware {
    package let credentials: [String: AWSCredentials]
    package let maximumBody: Int
    /// The dashboard's session token (a browser page cannot sign): a request with it in
    /// `X-PCluster-Dashboard-Token` is let through unsigned. nil: SigV4 only.
    package let dashboardToken: String?

    package init(credentials: [AWSCredentials], dashboardToken: String? = nil, maximumBody: Int = 1 << 20) {
        self.credentials = Dictionary(credentials.map { ($0.accessKeyId, $0) }, uniquingKeysWith: { first, _ in first })
        self.dashboardToken = dashboardToken
        self.maximumBody = maximumBody
    }

    static var tokenHeader: HTTPField.Name { HTTPField.Name("X-PCluster-Dashboard-Token")! }

    /// Compares in time that does not depend on where the strings differ.
    static func sameToken(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let expected = dashboardToken, let given = request.headers[Self.tokenHeader] {
            guard Self.sameToken(given, expected) else {
                return APIResponses.json(status: 401, ["message": "The dashboard token is not this server's; open the address pcluster-api printed."])
            }
            return try await next(request, context)
        }
        var request = request
        let body: Data
        do {
            body = Data(try await request.collectBody(upTo: maximumBody).readableBytesView)
        } catch {
            return APIResponses.json(status: 413, ["message": .string("The request body is larger than \(maximumBody) bytes or was cut off.")])
        }
        var headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
        if let authority = request.head.authority, !headers.contains(where: { $0.name.lowercased() == "host" }) {
            headers.append((name: "Host", value: authority))
        }
        // The query as sent: the verifier canonicalises it (names and values decoded, then encoded its way).
        let query = URLEncoding.queryItems(request.uri.query ?? "")
        let known = credentials
        switch SigV4Verifier.verify(
            method: request.method.rawValue, path: request.uri.path, query: query, headers: headers, body: body,
            service: "execute-api", credentials: { known[$0] })
        {
        case .failure(let failure):
            return APIResponses.json(status: 401, ["message": .string(failure.message)])
        case .success:
            return try await next(request, context)
        }
    }
}
