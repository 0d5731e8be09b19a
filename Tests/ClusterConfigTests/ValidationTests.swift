import ClusterConfig
import Foundation
import Testing

@Suite("Schema checking and validators")
struct ValidationTests {
    @Test func theWorkshopConfigLoadsWithExactlyTheExpectedWarnings() throws {
        let r = try Fixtures.validate(Fixtures.exampleConfigText)
        #expect(r.errors.isEmpty, "\(r.errors)")
        let warnings = Set(r.messages.filter { $0.level == .warning }.map(\.type))
        #expect(warnings == ["DeprecatedOsValidator", "DcvValidator", "ImdsSecuredValidator"])
        // The original's two DCV warnings, in its words: open to the world, and no GPU on c6i.2xlarge.
        let dcvWarnings = r.messages(of: "DcvValidator")
        #expect(dcvWarnings.count == 2)
        let dcv = try #require(dcvWarnings.first { $0.message.contains("to the world") })
        #expect(
            dcv.message == "With this configuration you are opening DCV port 8443 to the world (0.0.0.0/0). It is recommended to restrict access.")
        #expect(dcv.location?.line == 19 && dcv.location?.column == 17)
        let config = try #require(r.config)
        #expect(config.scheduling.queues[0].computeResources[0].instanceTypes == ["c6i.32xlarge"])
        #expect(config.sharedStorage[0].fsxLustre?.fileSystemId == "fs-0123456789abcdef0")
    }

    @Test func unsetSeedVariablesArePositionedErrors() throws {
        let r = try Fixtures.validate(Fixtures.exampleConfigText, env: [:])
        let vars = r.errors.filter { $0.message.contains("is not set") }
        #expect(vars.count == 3)
        #expect(vars.allSatisfy { $0.location != nil })
        // The malformed-id complaint about the same value is not repeated.
        #expect(!r.errors.contains { $0.message.contains("is not a valid id") })
    }

    @Test func fourProblemsAtOnceEachPositionedAndNamed() throws {
        let yaml = Fixtures.minimal
            .replacingOccurrences(of: "- Name: q1", with: "- Name: C6I")
            .replacingOccurrences(
                of: "InstanceType: c5.xlarge", with: "InstanceType: t3.micro\n          Efa:\n            Enabled: true\n          MaxCont: 1"
            )
            .replacingOccurrences(of: "MinCount: 0\n          MaxCount: 4", with: "MinCount: 3\n          MaxCount: 2")
        let r = try Fixtures.validate(yaml)
        let types = Set(r.errors.map(\.type))
        #expect(types.isSuperset(of: ["NameValidator", "ComputeResourceSizeValidator", "ConfigSchemaValidator", "EfaValidator"]))
        #expect(r.errors.allSatisfy { $0.location != nil })
        let unknown = try #require(r.errors.first { $0.type == "ConfigSchemaValidator" })
        #expect(unknown.message.contains("did you mean 'MaxCount'"))
    }

    @Test func awsbatchIsRejectedClearly() throws {
        let r = try Fixtures.validate(Fixtures.minimal.replacingOccurrences(of: "Scheduler: slurm", with: "Scheduler: awsbatch"))
        #expect(r.errors.contains { $0.message.contains("awsbatch scheduler is not supported") })
    }

    @Test func wrongTypesAtEveryLevelAreReported() throws {
        let cases: [(String, String, String)] = [
            ("MaxCount: 4", "MaxCount: many", "must be a whole number"),
            ("MaxCount: 4", "MaxCount: 0", "must be at least 1"),
            ("Os: alinux2023", "Os: windows", "must be one of"),
            ("Os: alinux2023", "Os: Alinux2023", "Did you mean 'alinux2023'"),
            ("SlurmQueues:", "SlurmQueues: 3\n  Other:", "unknown key"),
            ("Scheduler: slurm", "Scheduler: [slurm]", "must be a string, found a list"),
            ("SubnetId: subnet-0123456789abcdef0", "SubnetId: subnet-XYZ", "not a valid id"),
            ("KeyName: k", "KeyName:", "has no value"),
        ]
        for (from, to, expected) in cases {
            let r = try Fixtures.validate(Fixtures.minimal.replacingOccurrences(of: from, with: to))
            #expect(r.errors.contains { $0.message.contains(expected) && $0.location != nil }, "\(to): \(r.errors)")
        }
        let notList = try Fixtures.validate(Fixtures.minimal.replacingOccurrences(of: "  SlurmQueues:\n", with: "  SlurmQueues: none\n  X:\n"))
        #expect(!notList.errors.isEmpty)
    }

    @Test func requiredAndExclusiveFields() throws {
        let missing = try Fixtures.validate(Fixtures.minimal.replacingOccurrences(of: "  InstanceType: c6i.2xlarge\n", with: ""))
        #expect(missing.errors.contains { $0.message.contains("missing the required key 'InstanceType'") })
        // No validator chimes in about the empty instance type the model fell back to.
        #expect(!missing.errors.contains { $0.type == "InstanceTypeValidator" })

        let both = try Fixtures.validate(
            Fixtures.minimal.replacingOccurrences(
                of: "InstanceType: c5.xlarge", with: "InstanceType: c5.xlarge\n          Instances:\n            - InstanceType: c5.2xlarge"))
        #expect(both.errors.contains { $0.message.contains("give either InstanceType or Instances, not both") })
    }

    @Test func efaOnACapableTypeWithoutEfaIsAWarning() throws {
        let r = try Fixtures.validate(Fixtures.minimal.replacingOccurrences(of: "c5.xlarge", with: "c6i.32xlarge"))
        let w = try #require(r.messages(of: "EfaValidator").first)
        #expect(w.level == .warning)
    }

    @Test func efaNeedsAnExplicitPlacementGroup() throws {
        let r = try Fixtures.validate(
            Fixtures.minimal.replacingOccurrences(
                of: "InstanceType: c5.xlarge", with: "InstanceType: c6i.32xlarge\n          Efa:\n            Enabled: true"))
        #expect(r.messages(of: "EfaPlacementGroupValidator").first?.level == .error)
    }

    @Test func unknownInstanceTypeGetsASuggestion() throws {
        let r = try Fixtures.validate(Fixtures.minimal.replacingOccurrences(of: "c5.xlarge", with: "c5.xlargee"))
        let e = try #require(r.messages(of: "InstanceTypeValidator").first)
        #expect(e.message.contains("Did you mean 'c5.xlarge'"))
    }

    @Test func sharedStorageRules() throws {
        let storage = """

            SharedStorage:
              - Name: a
                StorageType: Efs
                MountDir: /shared
              - Name: b
                StorageType: Efs
                MountDir: /shared/sub
              - Name: c
                StorageType: FsxLustre
                MountDir: /etc
                FsxLustreSettings:
                  DeploymentType: PERSISTENT_2
                  StorageCapacity: 1000
                  PerUnitStorageThroughput: 125
                  DataRepositoryAssociations:
                    - Name: d1
                      DataRepositoryPath: s3://bucket/a
                      FileSystemPath: /data
                    - Name: d2
                      DataRepositoryPath: s3://bucket/b
                      FileSystemPath: /data/sub
            """
        let r = try Fixtures.validate(Fixtures.minimal + storage)
        let types = Set(r.errors.map(\.type))
        #expect(
            types.isSuperset(of: [
                "OverlappingMountDirValidator", "SharedStorageMountDirValidator", "FsxStorageCapacityValidator",
                "FsxDraValidator", "NumberOfStorageValidator",
            ]), "\(r.errors)")
    }

    @Test func suppressionSkipsValidatorsByNameOrAll() throws {
        let text = Fixtures.exampleConfigText
        #expect(!(try Fixtures.validate(text)).messages(of: "DcvValidator").isEmpty)
        let some = try Fixtures.validate(text, suppression: try ValidatorSuppression(arguments: ["type:DcvValidator"]))
        #expect(some.messages(of: "DcvValidator").isEmpty)
        #expect(!some.messages(of: "ImdsSecuredValidator").isEmpty)
        let all = try Fixtures.validate(text, suppression: try ValidatorSuppression(arguments: ["ALL"]))
        #expect(all.messages.isEmpty)
        #expect(throws: ValidatorSuppression.SuppressionError.self) { try ValidatorSuppression(arguments: ["EfaValidator"]) }
    }

    @Test func clusterNameRules() throws {
        #expect(try Fixtures.validate(Fixtures.minimal, clusterName: "9lives").messages(of: "ClusterNameValidator").count == 1)
        #expect(
            try Fixtures.validate(Fixtures.minimal, clusterName: String(repeating: "a", count: 61)).messages(of: "ClusterNameValidator").count == 1)
        #expect(try Fixtures.validate(Fixtures.minimal, clusterName: "good-name-1").messages(of: "ClusterNameValidator").isEmpty)
    }

    @Test func catalogueHasTheFactsValidatorsUse() throws {
        let c6i = try #require(InstanceTypeCatalogue.shipped.info(for: "c6i.32xlarge"))
        #expect(c6i.vcpus == 128 && c6i.memoryMiB == 262_144 && c6i.efaSupported && c6i.architecture == "x86_64")
        let micro = try #require(InstanceTypeCatalogue.shipped.info(for: "t3.micro"))
        #expect(!micro.efaSupported)
        #expect(InstanceTypeCatalogue.shipped.allNames.count > 1000)
    }

    @Test func everyValidatorHasAUniqueName() {
        #expect(Set(Validators.names).count == Validators.names.count)
    }
}
