import AWSCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The FSx JSON 1.1 endpoint: `POST /` with `X-Amz-Target: AWSSimbaAPIService_v20180301.<Operation>`.
/// Every request must carry a valid SigV4 signature for service `fsx` by a key in `credentials`; an unsigned,
/// expired or wrongly signed request is refused with AWS's error code and changes nothing.
package struct FSxServer: Sendable {
    package static let targetPrefix = "AWSSimbaAPIService_v20180301."
    package let service: FSxService
    package let credentials: [String: AWSCredentials]
    package let host: String
    package let port: Int
    package let limits: RequestLimits

    package init(
        service: FSxService, credentials: [AWSCredentials], host: String = "127.0.0.1", port: Int = 7800,
        limits: RequestLimits = RequestLimits()
    ) {
        self.service = service
        self.credentials = Dictionary(credentials.map { ($0.accessKeyId, $0) }, uniquingKeysWith: { first, _ in first })
        self.host = host
        self.port = port
        self.limits = limits
    }

    package func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        let service = self.service
        let known = self.credentials
        let limits = self.limits
        router.post("/") { request, _ -> Response in
            let body: Data
            switch await Self.collectBody(of: request, limits: limits) {
            case .success(let collected): body = collected
            case .failure(let refusal): return Self.response(status: refusal.status, body: FSxService.errorBody(refusal))
            }
            var headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
            if let authority = request.head.authority, !headers.contains(where: { $0.name.lowercased() == "host" }) {
                headers.append((name: "Host", value: authority))
            }
            let query = URLEncoding.queryItems(request.uri.query ?? "")
            switch SigV4Verifier.verify(
                method: "POST", path: request.uri.path, query: query, headers: headers, body: body,
                service: "fsx", credentials: { known[$0] })
            {
            case .failure(let failure):
                let status = failure.code == "MissingAuthenticationTokenException" ? 403 : (failure.code == "InvalidSignatureException" ? 403 : 400)
                return Self.response(status: status, body: FSxService.errorBody(FSxError(failure.code, failure.message, status: status)))
            case .success:
                break
            }
            guard let target = request.headers[.init("X-Amz-Target")!], target.hasPrefix(Self.targetPrefix) else {
                return Self.response(
                    status: 400,
                    body: FSxService.errorBody(
                        FSxError(
                            "UnknownOperationException",
                            "X-Amz-Target must name an operation of \(Self.targetPrefix.dropLast())")))
            }
            let (status, answer) = await service.handle(operation: String(target.dropFirst(Self.targetPrefix.count)), body: body)
            return Self.response(status: status, body: answer)
        }
        return Application(
            router: router, server: limits.server,
            configuration: .init(address: .hostname(host, port: port), serverName: "fsx-local"), logger: logger)
    }

    /// The request's body, refused when it is larger than the limit or not all there within the body timeout.
    static func collectBody(of request: Request, limits: RequestLimits) async -> Result<Data, FSxError> {
        let maximum = limits.maximumBody
        let timeout = limits.bodyTimeout
        let outcome: Result<Data, FSxError>? = await withTaskGroup(of: Result<Data, FSxError>?.self) { group in
            group.addTask {
                do {
                    var request = request
                    let buffer = try await request.collectBody(upTo: maximum)
                    return .success(Data(buffer.readableBytesView))
                } catch {
                    return .failure(
                        FSxError("RequestEntityTooLarge", "The request body is larger than \(maximum) bytes or was cut off.", status: 413))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled
                    ? nil : .failure(FSxError("RequestTimeout", "The request body did not arrive within \(timeout).", status: 408))
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        return outcome ?? .failure(FSxError("RequestTimeout", "The request body did not arrive.", status: 408))
    }

    static func response(status: Int, body: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-amz-json-1.1"
        headers[.init("x-amzn-RequestId")!] = UUID().uuidString.lowercased()
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
