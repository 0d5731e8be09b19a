import AWSCloudFormation
import AWSELBv2
import ClusterConfig
import Foundation
import Provisioning

extension AWSClusterProvider {
    /// describe-cluster's loginNodes, as the original reads them: each pool's network load balancer (its
    /// state, DNS name and scheme) and the health of its target group's instances. A pool whose load balancer
    /// is not there (yet, or any more) is "failed" without an address; no pool at all is listed when none has
    /// one, as the original does.
    package func loginNodePools(of name: String) async -> [LoginPoolStatus] {
        guard let text = try? await downloadConfiguration(of: name),
            let (document, _) = try? ConfigLoader.parse(text: text, file: configKey(name), environment: [:])
        else { return [] }
        let pools = ClusterConfiguration(checked: document).loginNodePools.map(\.name)
        guard !pools.isEmpty, let settings = try? settings(), let resources = try? await CloudFormation(settings: settings).resources(name),
            let balancing = try? LoadBalancing(settings: settings)
        else { return [] }
        var statuses: [LoginPoolStatus] = []
        var anyAvailable = false
        for pool in pools {
            let arn = resources.first { $0.logicalId == ClusterTemplate.loadBalancerId(pool) }?.physicalId ?? ""
            guard !arn.isEmpty, let balancer = try? await balancing.loadBalancer(arn) else {
                statuses.append(LoginPoolStatus(poolName: pool, status: "failed"))
                continue
            }
            anyAvailable = true
            var status = LoginPoolStatus(
                poolName: pool, status: Self.poolStatus(balancer.state), address: balancer.dnsName, scheme: balancer.scheme)
            // Target health is read only once the load balancer is active, as the original does.
            if status.status == "active", let group = try? await balancing.targetGroups(of: arn).first,
                let targets = try? await balancing.targetHealth(group)
            {
                status.healthyNodes = targets.filter { $0.state == "healthy" }.count
                status.unhealthyNodes = targets.count - (status.healthyNodes ?? 0)
            }
            statuses.append(status)
        }
        return anyAvailable ? statuses : []
    }

    /// The original's mapping of a load balancer's state code to a pool's status.
    static func poolStatus(_ state: String) -> String {
        switch state {
        case "provisioning": return "pending"
        case "active": return "active"
        default: return "failed"
        }
    }
}
