import Foundation

// Validators of the configuration's access and security (one of the sections `Validators.all` lists).
extension Validators {
    static let keyPair = Validator("KeyPairValidator") { c, s in
        if c.config.headNode.keyName == nil {
            s.add(
                .warning, "No Ssh KeyName is set on the head node: you will not be able to SSH into it with a key pair.", at: c.config.headNode.path)
        }
    }

    static let allowedIps = Validator("AllowedIpsValidator") { c, s in
        let h = c.config.headNode
        if let ssh = h.sshAllowedIps, IPv4CIDR(ssh)?.isEverything == true {
            s.add(
                .warning, "Ssh AllowedIps is \(ssh): SSH on the head node is open to the whole internet. Restrict it to your network's CIDR.",
                at: h.path / "Ssh" / "AllowedIps")
        }
        for p in c.config.loginNodePools {
            if let ssh = p.sshAllowedIps, IPv4CIDR(ssh)?.isEverything == true {
                s.add(
                    .warning, "Ssh AllowedIps is \(ssh) on login node pool '\(p.name)': open to the whole internet.",
                    at: p.path / "Ssh" / "AllowedIps")
            }
        }
    }

    static let imdsSecured = Validator("ImdsSecuredValidator") { c, s in
        if !c.config.headNode.imdsSecured {
            s.add(
                .warning,
                "Imds Secured is false: every user on the head node can read the instance role's credentials from the instance metadata service. Leave it true unless a tool needs IMDS access.",
                at: c.config.headNode.path / "Imds" / "Secured")
        }
        if c.config.imdsSupport == "v1.0" {
            s.add(
                .warning, "ImdsSupport v1.0 allows IMDSv1, which is open to SSRF credential theft; prefer v2.0.", at: .root / "Imds" / "ImdsSupport")
        }
    }

    static let dcv = Validator("DcvValidator") { c, s in
        let h = c.config.headNode
        guard h.dcvEnabled else { return }
        if h.instanceType.contains("micro") || h.instanceType.contains("nano") {
            s.add(
                .warning, "DCV on '\(h.instanceType)' may make the instance unstable: the desktop packages need at least 1.7 GB of memory.",
                at: h.path / "InstanceType")
        }
        // The original's warnings, with its words: DCV open to the world (its default AllowedIps), and no GPU.
        if h.dcvAllowedIps == "0.0.0.0/0" {
            let explicit = c.document.root["HeadNode"]?["Dcv"]?["AllowedIps"] != nil
            s.add(
                .warning,
                "With this configuration you are opening DCV port \(h.dcvPort) to the world (0.0.0.0/0). It is recommended to restrict access.",
                at: explicit ? h.path / "Dcv" / "AllowedIps" : h.path / "Dcv")
        }
        if let info = c.instanceTypes.info(for: h.instanceType), info.gpus == 0 {
            s.add(
                .warning,
                "DCV is enabled but the instance type '\(h.instanceType)' does not have a GPU. It is recommended to use DCV with a GPU-enabled instance type.",
                at: h.path / "InstanceType")
        }
        if h.dcvPort == 22 || h.dcvPort < 1024 && h.dcvPort != 443 {
            s.add(.warning, "Dcv Port \(h.dcvPort) is a privileged or reserved port; the default is 8443.", at: h.path / "Dcv" / "Port")
        }
    }

    static let headNodeMemorySize = Validator("HeadNodeMemorySizeValidator") { c, s in
        guard let info = c.instanceTypes.info(for: c.config.headNode.instanceType) else { return }
        if info.memoryMiB < 4096 {
            s.add(
                .warning,
                "Head node instance type '\(info.name)' has \(info.memoryMiB) MiB of memory; slurmctld, the node agent and shared storage services want at least 4 GiB.",
                at: c.config.headNode.path / "InstanceType")
        }
    }

    static let queueSubnets = Validator("QueueSubnetsValidator") { c, s in
        for q in c.config.scheduling.queues {
            for (_, sub) in duplicates(q.subnetIds, { $0 }) {
                s.add(.error, "Subnet '\(sub)' is listed more than once in queue '\(q.name)'.", at: q.path / "Networking" / "SubnetIds")
            }
        }
    }
}
