import Foundation
import Provisioning

#if canImport(Glibc)
import Glibc
#endif

/// One "instance" of a local cluster: the head node (munged + slurmctld + agent) or a compute node (a slurmd).
package struct LocalInstance: Codable, Sendable, Equatable {
    package enum Role: String, Codable, Sendable { case headNode = "HeadNode", computeNode = "ComputeNode", loginNode = "LoginNode" }
    package enum State: String, Codable, Sendable { case pending, running, stopping, stopped, terminated }

    package var instanceId: String
    package var role: Role
    package var nodeName: String?
    package var queue: String?
    package var computeResource: String?
    package var instanceType: String
    package var launchTime: Date
    package var pid: Int32?
    package var state: State
    package var stateReason: String?
    /// The login node pool (login nodes only).
    package var pool: String?

    package init(
        instanceId: String, role: Role, nodeName: String? = nil, queue: String? = nil, computeResource: String? = nil,
        instanceType: String, launchTime: Date, pid: Int32?, state: State, stateReason: String? = nil, pool: String? = nil
    ) {
        self.instanceId = instanceId
        self.role = role
        self.nodeName = nodeName
        self.queue = queue
        self.computeResource = computeResource
        self.instanceType = instanceType
        self.launchTime = launchTime
        self.pid = pid
        self.state = state
        self.stateReason = stateReason
        self.pool = pool
    }

    package static func newId() -> String {
        "i-" + (0..<17).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    }
}

/// instances.json, read and changed under an exclusive lock: the resume and suspend programs, the agent
/// loop and pcluster itself all change it, possibly at the same moment.
package struct InstanceRegistry: Sendable {
    package let layout: LocalLayout

    package init(layout: LocalLayout) { self.layout = layout }

    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }()
    package static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    package func read() -> [LocalInstance] {
        guard let data = FileManager.default.contents(atPath: layout.instances) else { return [] }
        return (try? Self.decoder.decode([LocalInstance].self, from: data)) ?? []
    }

    @discardableResult
    package func update<T>(_ body: (inout [LocalInstance]) throws -> T) throws -> T {
        try FileLock.withExclusiveLock(layout.instancesLock) {
            var instances = read()
            let result = try body(&instances)
            try Self.encoder.encode(instances).write(to: URL(fileURLWithPath: layout.instances), options: .atomic)
            return result
        }
    }
}

/// events.log: what happened to the cluster, one JSON object per line (get-cluster-stack-events reads it).
package struct EventLog: Sendable {
    package let layout: LocalLayout

    package init(layout: LocalLayout) { self.layout = layout }

    package struct Event: Codable, Sendable {
        package var timestamp: Date
        package var resource: String
        package var status: String
        package var reason: String
    }

    package func record(resource: String, status: String, reason: String) {
        let event = Event(timestamp: Date(), resource: resource, status: status, reason: reason)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        guard var line = try? encoder.encode(event) else { return }
        line.append(0x0A)
        let fd = open(layout.events, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    package func all() -> [Event] {
        guard let text = try? String(contentsOfFile: layout.events, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? InstanceRegistry.decoder.decode(Event.self, from: Data($0.utf8)) }
    }
}
