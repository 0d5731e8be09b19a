import Foundation

// Validators of the configuration's shared storage (one of the sections `Validators.all` lists).
extension Validators {
    static func normalized(_ dir: String) -> String {
        var d = dir.hasPrefix("/") ? dir : "/" + dir
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        return d
    }

    static let duplicateMountDir = Validator("DuplicateMountDirValidator") { c, s in
        var seen: [String: String] = [:]
        for st in c.config.sharedStorage {
            let d = normalized(st.mountDir)
            if let other = seen[d] {
                s.add(
                    .error, "Mount directory '\(d)' is used by both '\(other)' and '\(st.name)'; each shared storage needs its own.",
                    at: st.path / "MountDir")
            } else {
                seen[d] = st.name
            }
        }
        if let eph = c.config.headNode.ephemeralMountDir, let other = seen[normalized(eph)] {
            s.add(
                .warning, "Mount directory '\(normalized(eph))' of shared storage '\(other)' clashes with the head node's ephemeral volume.",
                at: c.config.headNode.path / "LocalStorage" / "EphemeralVolume" / "MountDir")
        }
    }

    static let overlappingMountDir = Validator("OverlappingMountDirValidator") { c, s in
        let dirs = c.config.sharedStorage.map { ($0, normalized($0.mountDir)) }
        for (i, (a, da)) in dirs.enumerated() {
            for (b, db) in dirs[(i + 1)...] where da != db && (db.hasPrefix(da + "/") || da.hasPrefix(db + "/") || da == "/" || db == "/") {
                s.add(
                    .error, "Mount directories '\(da)' (\(a.name)) and '\(db)' (\(b.name)) overlap; one would hide the other.",
                    at: b.path / "MountDir")
            }
        }
    }

    static let sharedStorageName = Validator("SharedStorageNameValidator") { c, s in
        for st in c.config.sharedStorage {
            if st.name == "default" {
                s.add(.error, "It is forbidden to use 'default' as a shared storage name.", at: st.path / "Name")
            } else if st.name.count > 30 {
                s.add(.error, "Invalid shared storage name '\(st.name)': at most 30 characters.", at: st.path / "Name")
            } else if !st.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || "+-=._:/".contains($0) }) {
                s.add(.error, "Invalid shared storage name '\(st.name)': use letters, digits, spaces and + - = . _ : / only.", at: st.path / "Name")
            }
        }
    }

    static let reservedDirs: Set<String> = [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt", "/opt",
        "/opt/parallelcluster", "/opt/slurm", "/proc", "/root", "/run", "/sbin", "/srv", "/sys",
        "/tmp", "/usr", "/var", "/var/log",
    ]

    static let sharedStorageMountDir = Validator("SharedStorageMountDirValidator") { c, s in
        for st in c.config.sharedStorage {
            let d = normalized(st.mountDir)
            if d == "/home" && st.storageType != "FileCache" { continue }  // a shared /home is a supported setup
            if reservedDirs.contains(d) {
                s.add(
                    .error, "Mount directory '\(d)' of '\(st.name)' is a system directory; choose another (for example /shared or /fsx).",
                    at: st.path / "MountDir")
            }
        }
    }

    static let numberOfStorage = Validator("NumberOfStorageValidator") { c, s in
        let st = c.config.sharedStorage
        let ebs = st.filter { $0.storageType == "Ebs" && $0.ebs?.raidType == nil }
        if ebs.count > 5 { s.add(.error, "Too many Ebs shared storage (\(ebs.count)); up to 5 are supported.", at: ebs[5].path) }
        let raid = st.filter { $0.storageType == "Ebs" && $0.ebs?.raidType != nil }
        if raid.count > 1 { s.add(.error, "Too many RAID shared storage (\(raid.count)); only 1 is supported.", at: raid[1].path) }
        for (type, label) in [("Efs", "Efs"), ("FsxLustre", "FsxLustre")] {
            let new = st.filter { $0.storageType == type && !$0.isExisting }
            if new.count > 1 {
                s.add(
                    .error, "Too many new \(label) file systems (\(new.count)); only one can be created with the cluster. Mount the others by id.",
                    at: new[1].path)
            }
            let existing = st.filter { $0.storageType == type && $0.isExisting }
            if existing.count > 20 {
                s.add(.error, "Too many existing \(label) file systems (\(existing.count)); up to 20 are supported.", at: existing[20].path)
            }
        }
        let fsx = st.filter { ["FsxOntap", "FsxOpenZfs", "FileCache"].contains($0.storageType) }
        if fsx.count > 20 {
            s.add(.error, "Too many FSx ONTAP / OpenZFS / File Cache storages (\(fsx.count)); up to 20 are supported.", at: fsx[20].path)
        }
        for x in st {
            let settingsKey: [String: String] = [
                "Ebs": "EbsSettings", "Efs": "EfsSettings", "FsxLustre": "FsxLustreSettings",
                "FsxOntap": "FsxOntapSettings", "FsxOpenZfs": "FsxOpenZfsSettings", "FileCache": "FileCacheSettings",
            ]
            let node = c.document.root.deepest(x.path).node
            for (type, key) in settingsKey where type != x.storageType && node[key] != nil {
                s.add(.error, "\(key) does not belong to StorageType \(x.storageType) in '\(x.name)'.", at: x.path / key)
            }
            if ["FsxOntap", "FsxOpenZfs", "FileCache"].contains(x.storageType), let key = settingsKey[x.storageType], node[key] == nil {
                s.add(.error, "StorageType \(x.storageType) needs \(key) in '\(x.name)'.", at: x.path)
            }
        }
    }
}
