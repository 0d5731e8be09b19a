import Foundation

// Validators of the configuration's IAM, tags and URLs (one of the sections `Validators.all` lists).
extension Validators {
    static func partition(for region: String?) -> String {
        guard let region else { return "aws" }
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }

    static let additionalIamPolicy = Validator("AdditionalIamPolicyValidator") { c, s in
        var all = c.config.headNode.additionalIamPolicies
        for q in c.config.scheduling.queues { all += q.additionalIamPolicies }
        let expected = partition(for: c.region)
        for (arn, path) in all {
            let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count > 1, parts[1] != expected {
                s.add(.error, "Policy '\(arn)' is in partition '\(parts[1])' but region \(c.region ?? "") is in '\(expected)'.", at: path)
            }
            if arn.hasSuffix(":policy/AdministratorAccess") {
                s.add(.warning, "Policy '\(arn)' gives every cluster node full control of the AWS account.", at: path)
            }
        }
        for (d, arn) in duplicates(c.config.headNode.additionalIamPolicies, { $0.arn }) {
            s.add(.error, "Policy '\(arn)' is listed more than once.", at: d.path)
        }
    }

    static let tagKey = Validator("TagKeyValidator") { c, s in
        var tags = c.config.tags
        for q in c.config.scheduling.queues {
            tags += q.tags
            for cr in q.computeResources { tags += cr.tags }
        }
        for t in tags where t.key.hasPrefix("parallelcluster:") {
            s.add(.error, "Tag key '\(t.key)' uses the reserved prefix 'parallelcluster:'.", at: t.path / "Key")
        }
        for (t, k) in duplicates(c.config.tags, { $0.key }) {
            s.add(.error, "Tag key '\(k)' is used more than once.", at: t.path / "Key")
        }
    }

    static let url = Validator("UrlValidator") { c, s in
        var actions = c.config.headNode.customActions
        for q in c.config.scheduling.queues { actions += q.customActions }
        for a in actions {
            let scheme = a.script.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if a.script.contains("://"), !["s3", "https"].contains(scheme) {
                s.add(.error, "Script '\(a.script)' must be an s3:// or https:// URL.", at: a.path)
            } else if !a.script.contains("://") && !a.script.hasPrefix("/") {
                s.add(.error, "Script '\(a.script)' must be an s3:// or https:// URL or an absolute path.", at: a.path)
            }
        }
    }
}
