import Foundation
import JSONOutput

/// A request as the operations read it: the path's parameters, the query's (a name may repeat: the spec's
/// arrays are `form`-exploded), and the JSON body.
package struct APIRequest: Sendable {
    package var pathParameters: [String: String]
    package var query: [(name: String, value: String)]
    package var body: JSONValue?

    package init(pathParameters: [String: String] = [:], query: [(name: String, value: String)] = [], body: JSONValue? = nil) {
        self.pathParameters = pathParameters
        self.query = query
        self.body = body
    }

    func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    func value(_ name: String) -> String? { values(name).last }
}

/// A request the spec does not allow: 400 with the original's BadRequestException body.
package struct APIRequestError: Error, Sendable, Equatable {
    package var message: String
    package init(message: String) { self.message = message }
}

/// What an operation asks of `pcluster`: the command line, and documents (cluster or image configurations
/// from the body) to write to files whose paths the line names through `{file:<key>}`.
package struct PClusterInvocation: Sendable, Equatable {
    package var arguments: [String]
    package var files: [String: String] = [:]
    /// The body field each file came from, which findings name as their file.
    package var fieldNames: [String: String] = [:]
}

/// One operation of the original's openapi.yaml: its method and path, its status on success, and how its
/// parameters become a `pcluster` command line. The server runs that line in-process through the same code
/// the CLI runs (no second implementation), and answers with the command's JSON, which is already the
/// original API's response body (the original's CLI prints its API's answers).
package struct APIOperation: Sendable {
    package var id: String
    package var method: String
    /// Segments of the path; `{name}` segments are parameters.
    package var path: [String]
    package var success: Int
    let line: @Sendable (APIRequest) throws(APIRequestError) -> PClusterInvocation

    /// The path parameters when `segments` is this operation's path.
    func match(_ segments: [String]) -> [String: String]? {
        guard segments.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (pattern, segment) in zip(path, segments) {
            if pattern.hasPrefix("{") {
                guard !segment.isEmpty else { return nil }
                parameters[String(pattern.dropFirst().dropLast())] = segment
            } else if pattern != segment {
                return nil
            }
        }
        return parameters
    }

    package func commandLine(_ request: APIRequest) throws(APIRequestError) -> PClusterInvocation { try line(request) }
}

extension APIOperation {
    init(
        _ id: String, _ method: String, _ path: String, _ success: Int,
        _ line: @escaping @Sendable (APIRequest) throws(APIRequestError) -> PClusterInvocation
    ) {
        self.init(id: id, method: method, path: path.split(separator: "/").map(String.init), success: success, line: line)
    }

    /// Every operation of the spec, in its order.
    package static let all: [APIOperation] = [
        APIOperation("ListClusters", "GET", "/v3/clusters", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["list-clusters"] + option("--region", r) + option("--next-token", r, "nextToken")
                    + list("--cluster-status", r, "clusterStatus"))
        },
        APIOperation("CreateCluster", "POST", "/v3/clusters", 202) { r throws(APIRequestError) in
            let name = try field("clusterName", of: r)
            let configuration = try field("clusterConfiguration", of: r)
            return PClusterInvocation(
                arguments: ["create-cluster", "-n", name, "-c", "{file:config}"] + option("--region", r) + validation(r)
                    + option("--rollback-on-failure", r, "rollbackOnFailure"),
                files: ["config": configuration], fieldNames: ["config": "clusterConfiguration"])
        },
        APIOperation("DeleteCluster", "DELETE", "/v3/clusters/{clusterName}", 202) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["delete-cluster", "-n", cluster(r)] + option("--region", r))
        },
        APIOperation("DescribeCluster", "GET", "/v3/clusters/{clusterName}", 200) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["describe-cluster", "-n", cluster(r)] + option("--region", r))
        },
        APIOperation("UpdateCluster", "PUT", "/v3/clusters/{clusterName}", 202) { r throws(APIRequestError) in
            let configuration = try field("clusterConfiguration", of: r)
            return PClusterInvocation(
                arguments: ["update-cluster", "-n", cluster(r), "-c", "{file:config}"] + option("--region", r) + validation(r)
                    + option("--force-update", r, "forceUpdate"),
                files: ["config": configuration], fieldNames: ["config": "clusterConfiguration"])
        },
        APIOperation("DescribeComputeFleet", "GET", "/v3/clusters/{clusterName}/computefleet", 200) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["describe-compute-fleet", "-n", cluster(r)] + option("--region", r))
        },
        APIOperation("UpdateComputeFleet", "PATCH", "/v3/clusters/{clusterName}/computefleet", 204) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["update-compute-fleet", "-n", cluster(r), "--status", try field("status", of: r)] + option("--region", r))
        },
        APIOperation("DeleteClusterInstances", "DELETE", "/v3/clusters/{clusterName}/instances", 202) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["delete-cluster-instances", "-n", cluster(r)] + option("--region", r) + option("--force", r))
        },
        APIOperation("DescribeClusterInstances", "GET", "/v3/clusters/{clusterName}/instances", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["describe-cluster-instances", "-n", cluster(r)] + option("--region", r) + option("--next-token", r, "nextToken")
                    + option("--node-type", r, "nodeType") + option("--queue-name", r, "queueName"))
        },
        APIOperation("ListClusterLogStreams", "GET", "/v3/clusters/{clusterName}/logstreams", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["list-cluster-log-streams", "-n", cluster(r)] + option("--region", r) + list("--filters", r, "filters")
                    + option("--next-token", r, "nextToken"))
        },
        APIOperation("GetClusterLogEvents", "GET", "/v3/clusters/{clusterName}/logstreams/{logStreamName}", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["get-cluster-log-events", "-n", cluster(r), "--log-stream-name", r.pathParameters["logStreamName"] ?? ""]
                    + logEventOptions(r))
        },
        APIOperation("GetClusterStackEvents", "GET", "/v3/clusters/{clusterName}/stackevents", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["get-cluster-stack-events", "-n", cluster(r)] + option("--region", r) + option("--next-token", r, "nextToken"))
        },
        APIOperation("ListImages", "GET", "/v3/images/custom", 200) { r throws(APIRequestError) in
            guard r.value("imageStatus") != nil else { throw APIRequestError(message: "Bad Request: imageStatus is required") }
            return PClusterInvocation(
                arguments: ["list-images"] + option("--region", r) + option("--next-token", r, "nextToken")
                    + option("--image-status", r, "imageStatus"))
        },
        APIOperation("BuildImage", "POST", "/v3/images/custom", 202) { r throws(APIRequestError) in
            let configuration = try field("imageConfiguration", of: r)
            return PClusterInvocation(
                arguments: ["build-image", "-i", try field("imageId", of: r), "-c", "{file:config}"] + option("--region", r) + validation(r)
                    + option("--rollback-on-failure", r, "rollbackOnFailure"),
                files: ["config": configuration], fieldNames: ["config": "imageConfiguration"])
        },
        APIOperation("DeleteImage", "DELETE", "/v3/images/custom/{imageId}", 202) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["delete-image", "-i", image(r)] + option("--region", r) + option("--force", r))
        },
        APIOperation("DescribeImage", "GET", "/v3/images/custom/{imageId}", 200) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["describe-image", "-i", image(r)] + option("--region", r))
        },
        APIOperation("ListImageLogStreams", "GET", "/v3/images/custom/{imageId}/logstreams", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["list-image-log-streams", "-i", image(r)] + option("--region", r) + option("--next-token", r, "nextToken"))
        },
        APIOperation("GetImageLogEvents", "GET", "/v3/images/custom/{imageId}/logstreams/{logStreamName}", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["get-image-log-events", "-i", image(r), "--log-stream-name", r.pathParameters["logStreamName"] ?? ""]
                    + logEventOptions(r))
        },
        APIOperation("GetImageStackEvents", "GET", "/v3/images/custom/{imageId}/stackevents", 200) { r throws(APIRequestError) in
            PClusterInvocation(
                arguments: ["get-image-stack-events", "-i", image(r)] + option("--region", r) + option("--next-token", r, "nextToken"))
        },
        APIOperation("ListOfficialImages", "GET", "/v3/images/official", 200) { r throws(APIRequestError) in
            PClusterInvocation(arguments: ["list-official-images"] + option("--region", r) + option("--os", r) + option("--architecture", r))
        },
    ]

    /// The operation for a method and path, with its path parameters; nil when none has that path, and the
    /// operations of that path (for 405) when the method is not one of theirs.
    package static func route(method: String, path: String) -> (operation: APIOperation, parameters: [String: String])? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        for operation in all where operation.method == method {
            if let parameters = operation.match(segments) { return (operation, parameters) }
        }
        return nil
    }

    package static func pathExists(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        return all.contains { $0.match(segments) != nil }
    }

    // MARK: Parameters → options

    /// `--flag value` for a query parameter named after the flag in camelCase (or `name`), when given.
    static func option(_ flag: String, _ request: APIRequest, _ name: String? = nil) -> [String] {
        let key = name ?? String(flag.dropFirst(2))
        return request.value(key).map { [flag, $0] } ?? []
    }

    /// `--flag v1 v2 ...` for an array parameter.
    static func list(_ flag: String, _ request: APIRequest, _ name: String) -> [String] {
        let values = request.values(name).flatMap { $0.split(separator: ",").map(String.init) }
        return values.isEmpty ? [] : [flag] + values
    }

    static func validation(_ request: APIRequest) -> [String] {
        list("--suppress-validators", request, "suppressValidators") + option("--validation-failure-level", request, "validationFailureLevel")
            + option("--dryrun", request)
    }

    static func logEventOptions(_ request: APIRequest) -> [String] {
        option("--region", request) + option("--next-token", request, "nextToken") + option("--start-from-head", request, "startFromHead")
            + option("--limit", request) + option("--start-time", request, "startTime") + option("--end-time", request, "endTime")
    }

    static func cluster(_ request: APIRequest) -> String { request.pathParameters["clusterName"] ?? "" }
    static func image(_ request: APIRequest) -> String { request.pathParameters["imageId"] ?? "" }

    /// A required string of the JSON body, as the original's request validation names it.
    static func field(_ name: String, of request: APIRequest) throws(APIRequestError) -> String {
        guard let body = request.body else { throw APIRequestError(message: "Bad Request: request body is required") }
        guard case .object = body else { throw APIRequestError(message: "Bad Request: request body must be a JSON object") }
        guard let value = body[name] else { throw APIRequestError(message: "Bad Request: '\(name)' is a required property") }
        guard let text = value.stringValue else { throw APIRequestError(message: "Bad Request: '\(name)' must be a string") }
        return text
    }
}
