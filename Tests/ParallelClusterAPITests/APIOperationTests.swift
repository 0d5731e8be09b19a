import AWSCore
import JSONOutput
import ParallelClusterAPI
import Testing

/// How the spec's requests become `pcluster` command lines: paths and methods to operations, query
/// parameters (arrays form-exploded) to options, the body's configuration to a file, and the original's
/// "required property" refusal for a body that lacks a field.
struct APIOperationTests {
    @Test func everyOperationOfTheSpecIsRouted() {
        let ids = APIOperation.all.map(\.id)
        #expect(Set(ids).count == ids.count && ids.count == 20)
        #expect(APIOperation.route(method: "GET", path: "/v3/clusters/demo")?.operation.id == "DescribeCluster")
        #expect(APIOperation.route(method: "GET", path: "/v3/clusters/demo")?.parameters == ["clusterName": "demo"])
        #expect(APIOperation.route(method: "PATCH", path: "/v3/clusters/demo/computefleet")?.operation.id == "UpdateComputeFleet")
        #expect(APIOperation.route(method: "GET", path: "/v3/clusters/demo/logstreams/a%2Fb")?.parameters["logStreamName"] == "a/b")
        #expect(APIOperation.route(method: "POST", path: "/v3/clusters/demo") == nil)
        #expect(APIOperation.pathExists("/v3/clusters/demo") && !APIOperation.pathExists("/v3/nothing"))
    }

    /// Query strings as the fuzzer sends them: an empty name or value is kept, never a crash (a lone `=` once
    /// brought the server down).
    @Test func oddQueryStringsAreRead() {
        #expect(URLEncoding.queryItems("=") == [QueryItem("", "")])
        #expect(URLEncoding.queryItems("=x&a=&b&c=1=2") == [QueryItem("", "x"), QueryItem("a", ""), QueryItem("b", ""), QueryItem("c", "1=2")])
        #expect(URLEncoding.queryItems("&&a=%41+b") == [QueryItem("a", "A+b")])
    }

    @Test func parametersBecomeTheCommandsOptions() throws {
        let list = try #require(APIOperation.route(method: "GET", path: "/v3/clusters")).operation
        let line = try list.commandLine(
            APIRequest(query: [("region", "us-east-1"), ("clusterStatus", "CREATE_COMPLETE"), ("clusterStatus", "UPDATE_COMPLETE")]))
        #expect(line.arguments == ["list-clusters", "--region", "us-east-1", "--cluster-status", "CREATE_COMPLETE", "UPDATE_COMPLETE"])

        let create = try #require(APIOperation.route(method: "POST", path: "/v3/clusters")).operation
        let created = try create.commandLine(
            APIRequest(
                query: [("dryrun", "true"), ("suppressValidators", "type:KeyPairValidator")],
                body: ["clusterName": "demo", "clusterConfiguration": "Region: us-east-1\n"]))
        #expect(
            created.arguments == [
                "create-cluster", "-n", "demo", "-c", "{file:config}", "--suppress-validators", "type:KeyPairValidator", "--dryrun", "true",
            ])
        #expect(created.files == ["config": "Region: us-east-1\n"])
        #expect(create.success == 202)

        #expect(throws: APIRequestError(message: "Bad Request: 'clusterConfiguration' is a required property")) {
            try create.commandLine(APIRequest(body: ["clusterName": "demo"]))
        }
        #expect(throws: APIRequestError(message: "Bad Request: request body is required")) { try create.commandLine(APIRequest()) }
        let fleet = try #require(APIOperation.route(method: "PATCH", path: "/v3/clusters/demo/computefleet"))
        let stop = try fleet.operation.commandLine(APIRequest(pathParameters: fleet.parameters, body: ["status": "STOP_REQUESTED"]))
        #expect(stop.arguments == ["update-compute-fleet", "-n", "demo", "--status", "STOP_REQUESTED"])
    }
}
