import Foundation

// Validators of the configuration's EBS and root volumes (one of the sections `Validators.all` lists).
extension Validators {
    static let ebsSizeRanges: [String: ClosedRange<Int>] = [
        "gp2": 1...16384, "gp3": 1...16384, "io1": 4...16384, "io2": 4...65536,
        "sc1": 125...16384, "st1": 125...16384, "standard": 1...1024,
    ]

    static let ebsVolumeTypeSize = Validator("EbsVolumeTypeSizeValidator") { c, s in
        for st in c.config.sharedStorage {
            guard let e = st.ebs, let size = e.size, let range = ebsSizeRanges[e.volumeType] else { continue }
            if !range.contains(size) {
                s.add(
                    .error, "Size \(size) GiB is out of range for \(e.volumeType) volumes (\(range.lowerBound)-\(range.upperBound) GiB).",
                    at: e.path / "Size")
            }
        }
    }

    static func checkIops(_ type: String, _ iops: Int?, _ size: Int?, _ path: ConfigPath, _ s: inout FindingSink) {
        guard let iops else { return }
        let limits: [String: (ClosedRange<Int>, Int)] = ["io1": (100...64000, 50), "io2": (100...256000, 1000), "gp3": (3000...16000, 500)]
        guard let (range, ratio) = limits[type] else {
            s.add(.error, "Iops can only be set for io1, io2 and gp3 volumes, not \(type).", at: path / "Iops")
            return
        }
        if !range.contains(iops) {
            s.add(.error, "Iops \(iops) is out of range for \(type) volumes (\(range.lowerBound)-\(range.upperBound)).", at: path / "Iops")
        } else if let size, iops > size * ratio {
            s.add(.error, "Iops \(iops) is more than \(ratio) per GiB of a \(size) GiB \(type) volume (at most \(size * ratio)).", at: path / "Iops")
        }
    }

    static let ebsVolumeIops = Validator("EbsVolumeIopsValidator") { c, s in
        for st in c.config.sharedStorage {
            if let e = st.ebs { checkIops(e.volumeType, e.iops, e.size, e.path, &s) }
        }
        if let r = c.config.headNode.rootVolume { checkIops(r.volumeType ?? "gp3", r.iops, r.size, r.path, &s) }
    }

    static let rootVolumeSize = Validator("RootVolumeSizeValidator") { c, s in
        var volumes: [ClusterConfiguration.RootVolume] = []
        if let r = c.config.headNode.rootVolume { volumes.append(r) }
        for q in c.config.scheduling.queues { if let r = q.rootVolume { volumes.append(r) } }
        for r in volumes {
            guard let size = r.size else { continue }
            if size < 35 {
                s.add(.error, "Root volume Size \(size) GiB is smaller than the ParallelCluster images (35 GiB).", at: r.path / "Size")
            }
        }
    }
}
