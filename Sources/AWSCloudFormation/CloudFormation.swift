import AWSCore
import Foundation

/// A stack as DescribeStacks reports it.
package struct StackDescription: Sendable, Equatable {
    package var stackId: String
    package var name: String
    package var status: String
    package var statusReason: String?
    package var creationTime: Date
    package var lastUpdatedTime: Date?
    package var tags: [String: String]
    package var outputs: [String: String]
}

package struct StackEvent: Sendable, Equatable {
    package var eventId: String
    package var stackId: String
    package var stackName: String
    package var logicalResourceId: String
    package var physicalResourceId: String
    package var resourceType: String
    package var resourceStatus: String
    package var resourceStatusReason: String?
    package var timestamp: Date
}

package struct StackResource: Sendable, Equatable {
    package var logicalId: String
    package var physicalId: String
    package var type: String
    package var status: String
}

/// The CloudFormation calls the AWS provider makes, over the AWS-query protocol of our wire layer.
/// CloudFormation over the query protocol: the stack calls a cluster needs, typed.
package struct CloudFormation: Sendable {
    let client: AWSClient

    package init(settings: AWSSettings) throws {
        client = try AWSClient(service: .cloudFormation, settings: settings, wireProtocol: .query(version: "2010-05-15"))
    }

    static func members(_ items: [(String, String)], _ prefix: String, key: String, value: String) -> [QueryItem] {
        items.enumerated().flatMap { index, pair in
            [QueryItem("\(prefix).member.\(index + 1).\(key)", pair.0), QueryItem("\(prefix).member.\(index + 1).\(value)", pair.1)]
        }
    }

    /// CreateStack; returns the stack id. `rollbackOnFailure` false keeps a failed stack's resources for
    /// inspection (OnFailure DO_NOTHING), as `--rollback-on-failure false` asks.
    package func createStack(
        name: String, templateBody: String, parameters: [(String, String)], tags: [(String, String)],
        rollbackOnFailure: Bool
    ) async throws -> String {
        var query = [
            QueryItem("StackName", name), QueryItem("TemplateBody", templateBody),
            QueryItem("OnFailure", rollbackOnFailure ? "ROLLBACK" : "DO_NOTHING"),
            QueryItem("Capabilities.member.1", "CAPABILITY_IAM"), QueryItem("Capabilities.member.2", "CAPABILITY_NAMED_IAM"),
        ]
        query += Self.members(parameters, "Parameters", key: "ParameterKey", value: "ParameterValue")
        query += Self.members(tags, "Tags", key: "Key", value: "Value")
        let answer = try await client.query("CreateStack", query, isIdempotent: false)
        return answer.path("CreateStackResult", "StackId")?.text ?? name
    }

    /// The stack, or nil when there is none of that name (CloudFormation answers ValidationError "does not exist").
    package func describeStack(_ name: String) async throws -> StackDescription? {
        do {
            let answer = try await client.query("DescribeStacks", [QueryItem("StackName", name)])
            return answer.path("DescribeStacksResult", "Stacks")?.children("member").first.map(Self.stack)
        } catch let error as AWSServiceError where error.code == "ValidationError" && error.message.contains("does not exist") {
            return nil
        }
    }

    /// Every live stack of the account and region (deleted ones are not listed by DescribeStacks).
    package func describeStacks() async throws -> [StackDescription] {
        var stacks: [StackDescription] = []
        var token: String?
        repeat {
            var query: [QueryItem] = []
            if let token { query.append(QueryItem("NextToken", token)) }
            let answer = try await client.query("DescribeStacks", query)
            stacks += (answer.path("DescribeStacksResult", "Stacks")?.children("member") ?? []).map(Self.stack)
            token = answer.path("DescribeStacksResult", "NextToken")?.text.nonEmpty
        } while token != nil
        return stacks
    }

    static func stack(_ member: XMLElement) -> StackDescription {
        var tags: [String: String] = [:]
        for tag in member.child("Tags")?.children("member") ?? [] {
            if let key = tag.string("Key") { tags[key] = tag.string("Value") ?? "" }
        }
        var outputs: [String: String] = [:]
        for output in member.child("Outputs")?.children("member") ?? [] {
            if let key = output.string("OutputKey") { outputs[key] = output.string("OutputValue") ?? "" }
        }
        return StackDescription(
            stackId: member.string("StackId") ?? "", name: member.string("StackName") ?? "",
            status: member.string("StackStatus") ?? "", statusReason: member.string("StackStatusReason")?.nonEmpty,
            creationTime: member.date("CreationTime") ?? Date(timeIntervalSince1970: 0),
            lastUpdatedTime: member.date("LastUpdatedTime"), tags: tags, outputs: outputs)
    }

    /// Newest first, as CloudFormation returns them.
    package func events(_ name: String) async throws -> [StackEvent] {
        var events: [StackEvent] = []
        var token: String?
        repeat {
            var query = [QueryItem("StackName", name)]
            if let token { query.append(QueryItem("NextToken", token)) }
            let answer = try await client.query("DescribeStackEvents", query)
            for member in answer.path("DescribeStackEventsResult", "StackEvents")?.children("member") ?? [] {
                events.append(
                    StackEvent(
                        eventId: member.string("EventId") ?? "", stackId: member.string("StackId") ?? "",
                        stackName: member.string("StackName") ?? name,
                        logicalResourceId: member.string("LogicalResourceId") ?? "",
                        physicalResourceId: member.string("PhysicalResourceId") ?? "",
                        resourceType: member.string("ResourceType") ?? "",
                        resourceStatus: member.string("ResourceStatus") ?? "",
                        resourceStatusReason: member.string("ResourceStatusReason")?.nonEmpty,
                        timestamp: member.date("Timestamp") ?? Date(timeIntervalSince1970: 0)))
            }
            token = answer.path("DescribeStackEventsResult", "NextToken")?.text.nonEmpty
        } while token != nil
        return events
    }

    package func resources(_ name: String) async throws -> [StackResource] {
        var resources: [StackResource] = []
        var token: String?
        repeat {
            var query = [QueryItem("StackName", name)]
            if let token { query.append(QueryItem("NextToken", token)) }
            let answer = try await client.query("ListStackResources", query)
            for member in answer.path("ListStackResourcesResult", "StackResourceSummaries")?.children("member") ?? [] {
                resources.append(
                    StackResource(
                        logicalId: member.string("LogicalResourceId") ?? "",
                        physicalId: member.string("PhysicalResourceId") ?? "",
                        type: member.string("ResourceType") ?? "",
                        status: member.string("ResourceStatus") ?? ""))
            }
            token = answer.path("ListStackResourcesResult", "NextToken")?.text.nonEmpty
        } while token != nil
        return resources
    }

    package func deleteStack(_ name: String) async throws {
        _ = try await client.query("DeleteStack", [QueryItem("StackName", name)])
    }

    /// An update as a change set: created, waited for, then executed. Returns the logical ids it changes; an
    /// update that changes no resource is not executed (CloudFormation would refuse it).
    package func update(
        name: String, templateBody: String, parameters: [(String, String)], tags: [(String, String)],
        changeSetName: String
    ) async throws -> [String] {
        var query = [
            QueryItem("StackName", name), QueryItem("ChangeSetName", changeSetName), QueryItem("ChangeSetType", "UPDATE"),
            QueryItem("TemplateBody", templateBody),
            QueryItem("Capabilities.member.1", "CAPABILITY_IAM"), QueryItem("Capabilities.member.2", "CAPABILITY_NAMED_IAM"),
        ]
        query += Self.members(parameters, "Parameters", key: "ParameterKey", value: "ParameterValue")
        query += Self.members(tags, "Tags", key: "Key", value: "Value")
        do {
            _ = try await client.query("CreateChangeSet", query, isIdempotent: false)
        } catch let error as AWSServiceError where error.code == "ValidationError" && error.message.contains("No updates") {
            return []  // some endpoints refuse an empty change set at once instead of failing it
        }
        let names = [QueryItem("StackName", name), QueryItem("ChangeSetName", changeSetName)]
        var changes: [String] = []
        for attempt in 0..<600 {
            let answer = try await client.query("DescribeChangeSet", names)
            guard let result = answer.child("DescribeChangeSetResult") else { break }
            let status = result.string("Status") ?? ""
            changes = (result.child("Changes")?.children("member") ?? []).compactMap { $0.path("ResourceChange", "LogicalResourceId")?.text }
            if status == "CREATE_COMPLETE" { break }
            if status == "FAILED" {
                let reason = result.string("StatusReason") ?? ""
                _ = try? await client.query("DeleteChangeSet", names)
                // CloudFormation's words for an update that changes nothing.
                if reason.contains("didn't contain changes") || reason.contains("No updates") { return [] }
                throw AWSServiceError(
                    service: "CloudFormation", operation: "CreateChangeSet", code: "ChangeSetFailed",
                    message: reason, statusCode: 400)
            }
            try await Task.sleep(nanoseconds: UInt64(min(2.0, 0.1 * Double(attempt + 1)) * 1e9))
        }
        if changes.isEmpty {
            _ = try? await client.query("DeleteChangeSet", names)
            return []
        }
        _ = try await client.query("ExecuteChangeSet", names, isIdempotent: false)
        return changes
    }

    /// Polls until the stack leaves *_IN_PROGRESS (nil: it is gone, as a deleted stack is).
    package func waitWhileInProgress(_ name: String, timeout: TimeInterval, progress: (String) -> Void = { _ in }) async throws -> StackDescription? {
        let deadline = Date().addingTimeInterval(timeout)
        var shown = ""
        var delay = 0.1
        while true {
            guard let stack = try await describeStack(name) else { return nil }
            if stack.status != shown { progress("stack status: \(stack.status)"); shown = stack.status }
            if !stack.status.hasSuffix("_IN_PROGRESS") || Date() > deadline { return stack }
            try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            delay = min(delay * 1.5, 5)
        }
    }
}

extension String {
    package var nonEmpty: String? { isEmpty ? nil : self }
}
