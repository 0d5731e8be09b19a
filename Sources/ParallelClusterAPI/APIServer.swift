import AWSCore
import Foundation
import HTTPTypes
import Hummingbird
import JSONOutput
import Logging
import NIOCore
import PClusterCLI
import Provisioning

/// The JSON answers of the API: the body with the status, as API Gateway sends them.
package enum APIResponses {
    package static func json(status: Int, _ body: JSONValue?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.init("x-amzn-RequestId")!] = UUID().uuidString.lowercased()
        let text = body.map { JSONPrinter.render($0, indent: 0) } ?? ""
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// `pcluster-api`: the ParallelCluster API of the original's openapi.yaml on 127.0.0.1, every operation run
/// through `PClusterCLI` in this process with the server's environment (its providers, state directory and
/// AWS settings), so the API and the CLI cannot disagree. Requests are authenticated as API Gateway's IAM
/// authorization does (`SigV4Authentication`).
package struct APIServer: Sendable {
    package let credentials: [AWSCredentials]
    package let environment: [String: String]
    package let providers: any ProviderDirectory
    package let host: String
    package let port: Int
    /// The dashboard's session token (see `SigV4Authentication`); nil serves no dashboard.
    package let dashboardToken: String?

    package init(
        credentials: [AWSCredentials], environment: [String: String], providers: any ProviderDirectory, host: String = "127.0.0.1",
        port: Int = 8080, dashboardToken: String? = nil
    ) {
        self.dashboardToken = dashboardToken
        self.credentials = credentials
        self.environment = environment
        self.providers = providers
        self.host = host
        self.port = port
    }

    package func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let api = router.group("v3").add(
            middleware: SigV4Authentication<BasicRequestContext>(credentials: credentials, dashboardToken: dashboardToken))
        for operation in APIOperation.all {
            let relative = operation.path.dropFirst().map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : $0 }.joined(separator: "/")
            let invoke = self.invoke
            api.on(RouterPath(relative), method: HTTPRequest.Method(operation.method)!) { request, _ in
                await invoke(operation, request)
            }
        }
        if dashboardToken != nil { addDashboard(to: router) }
        return router
    }

    package func application(logger: Logger) -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "pcluster-api"), logger: logger)
    }

    /// Runs one operation: the request's parameters as a `pcluster` command line, its answer as the response.
    @Sendable func invoke(_ operation: APIOperation, _ request: Request) async -> Response {
        var request = request
        let bodyText = (try? await request.collectBody(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
        var body: JSONValue?
        if !bodyText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            guard let parsed = try? JSONValue.parse(bodyText) else {
                return APIResponses.json(status: 400, ["message": "Bad Request: the request body is not JSON"])
            }
            body = parsed
        }
        let segments = request.uri.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        let parameters = operation.match(segments) ?? [:]
        let query = URLEncoding.queryItems(request.uri.query ?? "").map { (name: $0.name, value: $0.value) }
        let invocation: PClusterInvocation
        do {
            invocation = try operation.commandLine(APIRequest(pathParameters: parameters, query: query, body: body))
        } catch {
            return APIResponses.json(status: 400, ["message": .string(error.message)])
        }
        return await run(invocation, success: operation.success)
    }

    func run(_ invocation: PClusterInvocation, success: Int) async -> Response {
        // Configurations from the body go to files of their own, readable by this user only, removed after.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pcluster-api-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var arguments = invocation.arguments
        if !invocation.files.isEmpty {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for (key, text) in invocation.files {
                    let file = directory.appendingPathComponent("\(key).yaml")
                    try text.write(to: file, atomically: true, encoding: .utf8)
                    arguments = arguments.map { $0 == "{file:\(key)}" ? file.path : $0 }
                }
            } catch {
                return APIResponses.json(status: 500, ["message": .string("Cannot keep the configuration for the request: \(error)")])
            }
        }
        let result = await PClusterCLI.run(arguments, environment: environment, providers: providers)
        // Findings name the body's field, not the private file it was written to: "clusterConfiguration:35:21".
        var stdout = result.stdout
        for key in invocation.files.keys {
            stdout = stdout.replacingOccurrences(of: directory.appendingPathComponent("\(key).yaml").path, with: invocation.fieldNames[key] ?? key)
        }
        let json = try? JSONValue.parse(stdout.isEmpty ? "{}" : stdout)
        if result.exitCode == 0 { return APIResponses.json(status: success, json ?? [:]) }
        // A usage error of the command line (exit 2) is a parameter the spec does not allow.
        if result.exitCode == 2 || json?["message"] == nil {
            // argparse's last line: "pcluster <command>: error: <what>".
            let line = result.stderr.split(separator: "\n").last.map(String.init) ?? "invalid request"
            let reason = line.range(of: ": error: ").map { String(line[$0.upperBound...]) } ?? line
            return APIResponses.json(status: 400, ["message": .string("Bad Request: \(reason)")])
        }
        return APIResponses.json(status: result.status ?? 400, json)
    }
}
