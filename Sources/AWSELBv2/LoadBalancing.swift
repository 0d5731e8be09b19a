import AWSCore
import Foundation

/// A load balancer as DescribeLoadBalancers reports it.
package struct LoadBalancerDescription: Sendable, Equatable {
    package var arn: String
    package var dnsName: String
    /// "internet-facing" or "internal".
    package var scheme: String
    /// "provisioning", "active", "active_impaired" or "failed".
    package var state: String
}

/// A registered target and its health ("healthy", "unhealthy", "initial", "unused", "draining", "unavailable").
package struct TargetHealth: Sendable, Equatable {
    package var id: String
    package var state: String
}

/// The Elastic Load Balancing v2 calls that describe a login node pool's network load balancer, over the
/// AWS-query protocol of our wire layer.
package struct LoadBalancing: Sendable {
    let client: AWSClient

    package init(settings: AWSSettings) throws {
        client = try AWSClient(service: .elasticLoadBalancingV2, settings: settings, wireProtocol: .query(version: "2015-12-01"))
    }

    /// The load balancer, or nil when there is none of that ARN (LoadBalancerNotFound).
    package func loadBalancer(_ arn: String) async throws -> LoadBalancerDescription? {
        do {
            let answer = try await client.query("DescribeLoadBalancers", [QueryItem("LoadBalancerArns.member.1", arn)])
            return answer.path("DescribeLoadBalancersResult", "LoadBalancers")?.children("member").first.map { member in
                LoadBalancerDescription(
                    arn: member.string("LoadBalancerArn") ?? arn, dnsName: member.string("DNSName") ?? "",
                    scheme: member.string("Scheme") ?? "", state: member.child("State")?.string("Code") ?? "")
            }
        } catch let error as AWSServiceError where error.code == "LoadBalancerNotFound" {
            return nil
        }
    }

    /// The ARNs of the target groups the load balancer forwards to.
    package func targetGroups(of loadBalancerArn: String) async throws -> [String] {
        let answer = try await client.query("DescribeTargetGroups", [QueryItem("LoadBalancerArn", loadBalancerArn)])
        return answer.path("DescribeTargetGroupsResult", "TargetGroups")?.children("member").compactMap { $0.string("TargetGroupArn") } ?? []
    }

    /// Every registered target of the group with its health.
    package func targetHealth(_ targetGroupArn: String) async throws -> [TargetHealth] {
        let answer = try await client.query("DescribeTargetHealth", [QueryItem("TargetGroupArn", targetGroupArn)])
        return answer.path("DescribeTargetHealthResult", "TargetHealthDescriptions")?.children("member").map { member in
            TargetHealth(id: member.child("Target")?.string("Id") ?? "", state: member.child("TargetHealth")?.string("State") ?? "")
        } ?? []
    }
}
