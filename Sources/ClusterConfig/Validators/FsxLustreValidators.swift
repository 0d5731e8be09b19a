import Foundation

// Validators of the configuration's FSx for Lustre (one of the sections `Validators.all` lists).
extension Validators {
    static func forEachFsx(_ c: ValidationContext, _ body: (ClusterConfiguration.SharedStorage, ClusterConfiguration.FsxLustreSettings) -> Void) {
        for st in c.config.sharedStorage where st.storageType == "FsxLustre" {
            if let f = st.fsxLustre { body(st, f) }
        }
    }

    /// Fields that only make sense when the cluster creates the file system.
    static let creationOnlyFsxFields = [
        "StorageCapacity", "DeploymentType", "ImportedFileChunkSize", "ExportPath", "ImportPath",
        "WeeklyMaintenanceStartTime", "AutomaticBackupRetentionDays", "CopyTagsToBackups",
        "DailyAutomaticBackupStartTime", "PerUnitStorageThroughput", "BackupId", "KmsKeyId",
        "AutoImportPolicy", "DriveCacheType", "DataCompressionType", "StorageType",
        "DataRepositoryAssociations", "DeletionPolicy",
    ]

    static let fsxS3 = Validator("FsxS3Validator") { c, s in
        forEachFsx(c) { st, f in
            if f.exportPath != nil && f.importPath == nil {
                s.add(.error, "ExportPath needs ImportPath in '\(st.name)'.", at: f.path / "ExportPath")
            }
            if f.importedFileChunkSize != nil && f.importPath == nil {
                s.add(.error, "ImportedFileChunkSize needs ImportPath in '\(st.name)'.", at: f.path / "ImportedFileChunkSize")
            }
            if f.autoImportPolicy != nil && f.importPath == nil {
                s.add(.error, "AutoImportPolicy needs ImportPath in '\(st.name)'.", at: f.path / "AutoImportPolicy")
            }
            if let imp = f.importPath, let exp = f.exportPath {
                let bucket = { (u: String) in u.dropFirst(5).split(separator: "/").first.map(String.init) ?? "" }
                if bucket(imp) != bucket(exp) {
                    s.add(.error, "ImportPath and ExportPath must be in the same bucket in '\(st.name)'.", at: f.path / "ExportPath")
                }
            }
            if f.fileSystemId != nil {
                let node = c.document.root.deepest(f.path).node
                for k in creationOnlyFsxFields where node[k] != nil {
                    s.add(
                        .error,
                        "\(k) cannot be used with FileSystemId in '\(st.name)': it configures a new file system, and FileSystemId mounts an existing one.",
                        at: f.path / k)
                }
            }
        }
    }

    static let fsxDra = Validator("FsxDraValidator") { c, s in
        forEachFsx(c) { st, f in
            let dras = f.dataRepositoryAssociations
            guard !dras.isEmpty else { return }
            if f.importPath != nil || f.exportPath != nil {
                s.add(
                    .error, "DataRepositoryAssociations cannot be used with ImportPath or ExportPath on the same file system ('\(st.name)').",
                    at: f.path / "DataRepositoryAssociations")
            }
            if f.deploymentType != "PERSISTENT_2" {
                s.add(
                    .error, "DataRepositoryAssociations need DeploymentType PERSISTENT_2 ('\(st.name)' is \(f.deploymentType)).",
                    at: f.path / "DataRepositoryAssociations")
            }
            for (d, n) in duplicates(dras, { $0.name }) {
                s.add(.error, "Data repository association name '\(n)' is used more than once.", at: d.path / "Name")
            }
            let paths = dras.map { ($0, normalized($0.fileSystemPath)) }
            for (i, (a, pa)) in paths.enumerated() {
                for (b, pb) in paths[(i + 1)...] where pa == pb || pb.hasPrefix(pa + "/") || pa.hasPrefix(pb + "/") || pa == "/" || pb == "/" {
                    s.add(
                        .error, "FileSystemPath '\(pb)' of '\(b.name)' overlaps '\(pa)' of '\(a.name)'; data repository associations may not nest.",
                        at: b.path / "FileSystemPath")
                }
            }
        }
    }

    static let fsxStorageCapacity = Validator("FsxStorageCapacityValidator") { c, s in
        forEachFsx(c) { st, f in
            guard f.fileSystemId == nil else { return }
            guard let cap = f.storageCapacity else {
                if f.backupId == nil {
                    s.add(
                        .error,
                        "'\(st.name)' creates a new FSx for Lustre file system, so StorageCapacity is required (or give FileSystemId to mount an existing one).",
                        at: f.path)
                }
                return
            }
            let ok: Bool
            let rule: String
            switch (f.deploymentType, f.storageType) {
            case ("SCRATCH_1", _):
                ok = cap == 1200 || cap == 2400 || cap % 3600 == 0; rule = "1200, 2400 or a multiple of 3600 GiB"
            case (_, "HDD"):
                let unit = f.perUnitStorageThroughput == 12 ? 6000 : 1800
                ok = cap % unit == 0; rule = "a multiple of \(unit) GiB for HDD at this throughput"
            default:
                ok = cap == 1200 || cap % 2400 == 0; rule = "1200 or a multiple of 2400 GiB"
            }
            if !ok {
                s.add(
                    .error, "StorageCapacity \(cap) is not valid for \(f.deploymentType) \(f.storageType): use \(rule).",
                    at: f.path / "StorageCapacity")
            }
        }
    }

    static let fsxPersistentOptions = Validator("FsxPersistentOptionsValidator") { c, s in
        forEachFsx(c) { st, f in
            guard f.fileSystemId == nil else { return }
            let persistent = f.deploymentType.hasPrefix("PERSISTENT")
            if persistent && f.perUnitStorageThroughput == nil {
                s.add(.error, "PerUnitStorageThroughput is required for \(f.deploymentType) in '\(st.name)'.", at: f.path)
            }
            if !persistent && f.perUnitStorageThroughput != nil {
                s.add(
                    .error, "PerUnitStorageThroughput applies only to PERSISTENT deployment types ('\(st.name)' is \(f.deploymentType)).",
                    at: f.path / "PerUnitStorageThroughput")
            }
            if let t = f.perUnitStorageThroughput, persistent {
                let allowed: [Int]
                switch (f.deploymentType, f.storageType) {
                case (_, "HDD"): allowed = [12, 40]
                case ("PERSISTENT_1", _): allowed = [50, 100, 200]
                default: allowed = [125, 250, 500, 1000]
                }
                if !allowed.contains(t) {
                    s.add(
                        .error,
                        "PerUnitStorageThroughput \(t) is not valid for \(f.deploymentType) \(f.storageType): use one of \(allowed.map(String.init).joined(separator: ", ")).",
                        at: f.path / "PerUnitStorageThroughput")
                }
            }
            if f.storageType == "HDD" && f.deploymentType != "PERSISTENT_1" {
                s.add(.error, "StorageType HDD needs DeploymentType PERSISTENT_1.", at: f.path / "StorageType")
            }
            if f.driveCacheType != nil && f.storageType != "HDD" {
                s.add(.error, "DriveCacheType applies only to StorageType HDD.", at: f.path / "DriveCacheType")
            }
        }
    }

    static let fsxBackupOptions = Validator("FsxBackupOptionsValidator") { c, s in
        forEachFsx(c) { st, f in
            guard f.fileSystemId == nil else { return }
            let persistent = f.deploymentType.hasPrefix("PERSISTENT")
            for (key, set) in [
                ("AutomaticBackupRetentionDays", f.automaticBackupRetentionDays != nil),
                ("DailyAutomaticBackupStartTime", f.dailyAutomaticBackupStartTime != nil),
                ("CopyTagsToBackups", f.copyTagsToBackups != nil),
            ] where set && !persistent {
                s.add(.error, "\(key) needs a PERSISTENT deployment type ('\(st.name)' is \(f.deploymentType)).", at: f.path / key)
            }
            if f.backupId != nil, f.importPath != nil || f.storageCapacity != nil {
                s.add(
                    .error, "BackupId restores a file system from a backup and cannot be combined with StorageCapacity or ImportPath.",
                    at: f.path / "BackupId")
            }
        }
    }

    /// As the original: storage the cluster makes (Ebs, Efs, FsxLustre) is deleted with it unless its
    /// DeletionPolicy says otherwise, and either way the user is told; an existing one is told only when the
    /// config sets a policy for it.
    static let deletionPolicy = Validator("DeletionPolicyValidator") { c, s in
        for st in c.config.sharedStorage {
            let settings: String
            switch st.storageType {
            case "Ebs": settings = "EbsSettings"
            case "Efs": settings = "EfsSettings"
            case "FsxLustre": settings = "FsxLustreSettings"
            default: continue
            }
            let key = st.path / settings / "DeletionPolicy"
            let written = c.document.root.deepest(key)
            let explicit = written.complete ? written.node.string : nil
            guard let policy = explicit ?? (st.isExisting ? nil : "Delete") else { continue }
            let fate: String
            switch policy {
            case "Delete": fate = "deleted"
            case "Retain": fate = "retained"
            default: continue
            }
            s.add(
                .info,
                "The DeletionPolicy is set to \(policy). The storage '\(st.name)' will be \(fate) when you remove it from the configuration when performing a cluster update or deleting the cluster.",
                at: explicit == nil ? st.path : key)
        }
    }
}
