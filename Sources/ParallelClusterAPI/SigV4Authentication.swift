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

    package init(credentials: [AWSCredentials], maximumBody: Int = 1 << 20) {
        self.credentials = Dictionary(credentials.map { ($0.accessKeyId, $0) }, uniquingKeysWith: { first, _ in first })
        self.maximumBody = maximumBody
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
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
