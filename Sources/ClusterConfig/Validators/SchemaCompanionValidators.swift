import Foundation

// Checks the original makes in validators right after its schema (so `--suppress-validators` can
// skip them): S3 URIs of FSx paths, and settings that exclude each other in SlurmSettings.
// Names, levels and messages are the original's.
extension Validators {
    static func isS3Uri(_ url: String) -> Bool {
        // The original asks for the URL scheme "s3" (Python's urlparse lowercases it).
        guard let colon = url.firstIndex(of: ":") else { return false }
        return url[..<colon].lowercased() == "s3"
    }

    static let s3BucketUri = Validator("S3BucketUriValidator") { c, s in
        forEachFsx(c) { st, f in
            let settings = st.path / "FsxLustreSettings"
            for (key, url) in [("ImportPath", f.importPath), ("ExportPath", f.exportPath)] {
                if let url, !isS3Uri(url) { s.add(.error, "The value '\(url)' is not a valid S3 URI.", at: settings / key) }
            }
            for dra in f.dataRepositoryAssociations where !isS3Uri(dra.dataRepositoryPath) {
                s.add(.error, "The value '\(dra.dataRepositoryPath)' is not a valid S3 URI.", at: dra.path / "DataRepositoryPath")
            }
        }
    }

    static let externalSlurmdbdVsDatabase = Validator("ExternalSlurmdbdVsDatabaseIncompatibility") { c, s in
        let sched = c.config.scheduling
        if sched.hasDatabase && sched.hasExternalSlurmdbd {
            s.add(
                .error, "Database and ExternalSlurmdbd cannot be defined at the same time within SlurmSettings.",
                at: sched.path / "SlurmSettings" / "ExternalSlurmdbd")
        }
    }

    static let customSlurmSettingsIncludeFileOnly = Validator("CustomSlurmSettingsIncludeFileOnlyValidator") { c, s in
        let sched = c.config.scheduling
        if !sched.customSlurmSettings.isEmpty, let file = sched.customSlurmSettingsIncludeFile, !file.isEmpty {
            s.add(
                .error, "CustomSlurmsettings and CustomSlurmSettingsIncludeFile cannot be used together under SlurmSettings.",
                at: sched.path / "SlurmSettings" / "CustomSlurmSettingsIncludeFile")
        }
    }
}
