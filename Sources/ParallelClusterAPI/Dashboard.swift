import AWSCore
import AWSFSx
import Foundation
import HTTPTypes
import Hummingbird
import JSONOutput
import NIOCore
import PClusterCLI
import Provisioning

/// The dashboard's own questions, which the ParallelCluster API has no operation for: a cluster's Slurm
/// nodes, partitions and jobs, read on its head node through `pcluster ssh` (the same way a user would).
/// Served under /dashboard/ beside the API, with the same authentication.
struct DashboardQueries: Sendable {
    let environment: [String: String]
    let providers: any ProviderDirectory

    /// Runs `command` on the cluster's head node; nil when the head node cannot be reached.
    func onHeadNode(_ cluster: String, _ command: String) async -> String? {
        let result = await PClusterCLI.run(["ssh", "-n", cluster, command], environment: environment, providers: providers)
        guard result.exitCode == 0, let plan = result.exec else { return nil }
        return await Self.output(of: plan)
    }

    /// The program's stdout, run on a thread of its own (it blocks), with a 20 s bound.
    static func output(of plan: ExecPlan) async -> String? {
        await withCheckedContinuation { continuation in
            Thread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: plan.path)
                process.arguments = plan.arguments
                process.environment = plan.environment
                let out = Pipe()
                process.standardOutput = out
                process.standardError = FileHandle(forWritingAtPath: "/dev/null")
                process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
                do { try process.run() } catch {
                    continuation.resume(returning: nil)
                    return
                }
                let timer = DispatchWorkItem { if process.isRunning { process.terminate() } }
                DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: timer)
                let data = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                timer.cancel()
                continuation.resume(returning: process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil)
            }.start()
        }
    }

    /// Nodes (name, state, partitions), partitions and jobs (squeue's and, with accounting, sacct's).
    func slurm(_ cluster: String) async -> JSONValue {
        async let nodesText = onHeadNode(cluster, "sinfo -h -N -o '%N|%T|%P'")
        async let partitionsText = onHeadNode(cluster, "sinfo -h -o '%P|%a|%D|%T'")
        async let queueText = onHeadNode(cluster, "squeue -h -o '%i|%j|%T|%D|%N|%S|%u'")
        async let accountingText = onHeadNode(cluster, "sacct -n -X -P -S now-1days -o JobID,JobName,State,NNodes,NodeList,Start,End,ExitCode")
        let (nodes, partitions, queue, accounting) = await (nodesText, partitionsText, queueText, accountingText)
        guard let nodes else { return ["reachable": false] }
        func rows(_ text: String?, _ names: [String], separator: Character = "|") -> JSONValue {
            .array(
                (text ?? "").split(separator: "\n").map { line in
                    let fields = line.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
                    var row = JSONObject()
                    for (index, name) in names.enumerated() { row[name] = .string(index < fields.count ? fields[index] : "") }
                    return .object(row)
                })
        }
        return [
            "reachable": true,
            "nodes": rows(nodes, ["name", "state", "partition"]),
            "partitions": rows(partitions, ["name", "availability", "nodes", "state"]),
            "jobs": rows(queue, ["id", "name", "state", "nodes", "nodeList", "start", "user"]),
            "accounting": accounting == nil ? .null : rows(accounting, ["id", "name", "state", "nodes", "nodeList", "start", "end", "exitCode"]),
        ]
    }
}

extension DashboardQueries {
    /// The FSx file systems, their data repository associations with each one's HSM state counts, and their
    /// data repository tasks, from the FSx endpoint of the server's environment (fsxd on a local setup).
    func storage() async -> JSONValue {
        func json(_ value: some Encodable) -> JSONValue {
            (try? JSONValue.parse(String(decoding: JSONEncoder().encode(value), as: UTF8.self))) ?? .null
        }
        guard let settings = try? AWSSettings.resolve(environment: environment), let fsx = try? FSxClient(settings: settings) else {
            return ["reachable": false]
        }
        do {
            let systems = try await fsx.call(
                "DescribeFileSystems", FSxDescribeFileSystemsRequest(FileSystemIds: nil), as: FSxDescribeFileSystemsAnswer.self)
            let associations = try await fsx.call(
                "DescribeDataRepositoryAssociations", FSxDescribeAssociationsRequest(AssociationIds: nil), as: FSxDescribeAssociationsAnswer.self)
            let tasks = try await fsx.call("DescribeDataRepositoryTasks", [String: String](), as: FSxDescribeTasksAnswer.self)
            // Only the local service keeps HSM counts it can answer at once; elsewhere they are left out.
            let states = try? await fsx.call("LocalDescribeHsmStates", FSxLocalHsmStatesRequest(), as: FSxLocalHsmStatesAnswer.self)
            return [
                "reachable": true, "fileSystems": json(systems.FileSystems), "associations": json(associations.Associations),
                "tasks": json(tasks.DataRepositoryTasks), "hsm": states.map { json($0.Associations) } ?? .null,
            ]
        } catch {
            return ["reachable": false, "message": .string("\(error)")]
        }
    }
}

extension APIServer {
    /// The page and its script, and the dashboard's queries (authenticated like the API).
    func addDashboard(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.asset(DashboardAssets.page, type: "text/html; charset=utf-8") }
        router.get("/dashboard.js") { _, _ in Self.asset(DashboardAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/dashboard.css") { _, _ in Self.asset(DashboardAssets.style, type: "text/css; charset=utf-8") }
        let queries = DashboardQueries(environment: environment, providers: providers)
        let dashboard = router.group("dashboard").add(
            middleware: SigV4Authentication<BasicRequestContext>(credentials: credentials, dashboardToken: dashboardToken))
        dashboard.get("clusters/:clusterName/slurm") { _, context in
            let name = context.parameters.get("clusterName") ?? ""
            return APIResponses.json(status: 200, await queries.slurm(name))
        }
        dashboard.get("storage") { _, _ in APIResponses.json(status: 200, await queries.storage()) }
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
