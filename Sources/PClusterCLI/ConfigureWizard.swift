import ClusterConfig
import Foundation
import JSONOutput

/// `pcluster configure`: a few questions (prompts on stderr, answers from stdin; an empty answer takes
/// the default), then a config that validates and runs on the local provider. The end of input before
/// the last answer aborts with nothing written, as the original does.
struct ConfigureWizard {
    let path: String
    let region: String?
    let env: CommandEnvironment
    let catalogue = InstanceTypeCatalogue.shipped

    struct Question {
        var prompt: String
        var defaultValue: String
        var check: (String) -> String?  // nil when acceptable, else why not
    }

    struct EndOfInput: Error {}

    /// Asks until the answer is acceptable (three tries, then the default).
    func ask(_ question: Question) throws -> String {
        for _ in 0..<3 {
            env.progress("\(question.prompt) [\(question.defaultValue)]: ")
            guard let line = readLine() else { throw EndOfInput() }
            let answer = line.trimmingCharacters(in: .whitespaces)
            if answer.isEmpty { return question.defaultValue }
            if let problem = question.check(answer) { env.progress("  \(problem)") } else { return answer }
        }
        env.progress("  using the default, \(question.defaultValue)")
        return question.defaultValue
    }

    func instanceType(_ answer: String) -> String? {
        catalogue.info(for: answer) == nil ? "'\(answer)' is not an EC2 instance type this tool knows (for example c5.xlarge)" : nil
    }

    static func name(_ answer: String) -> String? {
        answer.range(of: "^[a-z][a-z0-9-]{0,24}$", options: .regularExpression) == nil || answer == "default"
            ? "use 1-25 lowercase letters, digits and '-', starting with a letter (not 'default')" : nil
    }

    static func count(_ answer: String) -> String? {
        guard let value = Int(answer), value >= 0, value <= 1000 else { return "give a whole number from 0 to 1000" }
        return nil
    }

    func run() throws -> CommandOutcome {
        if FileManager.default.fileExists(atPath: path) {
            return .failure(message: "\(path) already exists; choose another path or remove it first.")
        }
        do {
            return try interview()
        } catch is EndOfInput {
            return CommandOutcome(json: nil, stderr: "\n", exitCode: 1)
        }
    }

    func interview() throws -> CommandOutcome {
        env.progress("Answer a few questions to write a cluster configuration (Enter keeps the default).")
        let chosenRegion = try ask(
            Question(prompt: "AWS Region", defaultValue: region ?? "us-east-1") {
                $0.range(of: "^[a-z]{2}(-[a-z]+)+-[0-9]$", options: .regularExpression) == nil ? "a region looks like us-east-1" : nil
            })
        let os = try ask(
            Question(prompt: "Operating system (alinux2023, ubuntu2204, ubuntu2404, rhel8, rhel9, rocky8, rocky9)", defaultValue: "alinux2023") {
                ["alinux2023", "ubuntu2204", "ubuntu2404", "rhel8", "rhel9", "rocky8", "rocky9", "alinux2", "ubuntu2004"].contains($0)
                    ? nil : "choose one of the listed systems"
            })
        let headType = try ask(Question(prompt: "Head node instance type", defaultValue: "t3.medium", check: instanceType))
        let queue = try ask(Question(prompt: "Queue name", defaultValue: "queue1", check: Self.name))
        let computeType = try ask(Question(prompt: "Compute instance type", defaultValue: "c5.xlarge", check: instanceType))
        let minimum = Int(try ask(Question(prompt: "Static nodes (always on)", defaultValue: "0", check: Self.count))) ?? 0
        let maximum =
            Int(
                try ask(
                    Question(prompt: "Maximum nodes", defaultValue: String(max(4, minimum))) { answer in
                        if let problem = Self.count(answer) { return problem }
                        return (Int(answer) ?? 0) < max(1, minimum) ? "give at least \(max(1, minimum)) (the static nodes, and at least one)" : nil
                    })) ?? max(4, minimum)
        let subnet = try ask(
            Question(prompt: "Subnet id (any well-formed id on this machine)", defaultValue: "subnet-0123456789abcdef0") {
                $0.range(of: "^subnet-[0-9a-z]+$", options: .regularExpression) == nil ? "a subnet id looks like subnet-0123456789abcdef0" : nil
            })
        let resource =
            computeType.split(separator: ".").first.map { String($0).replacingOccurrences(of: "[^a-z0-9-]", with: "", options: .regularExpression) }
            ?? "compute"
        let yaml = """
            # Written by pcluster configure.
            Region: \(chosenRegion)
            Image:
              Os: \(os)
            HeadNode:
              InstanceType: \(headType)
              Networking:
                SubnetId: \(subnet)
            Scheduling:
              Scheduler: slurm
              SlurmQueues:
                - Name: \(queue)
                  ComputeResources:
                    - Name: \(resource.isEmpty ? "compute" : resource)
                      InstanceType: \(computeType)
                      MinCount: \(minimum)
                      MaxCount: \(maximum)
                  Networking:
                    SubnetIds:
                      - \(subnet)

            """
        do {
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            return .failure(message: "Cannot write \(path): \(error.localizedDescription)")
        }
        let result = try ConfigValidation.validate(path: path, environment: env.variables, clusterName: nil, region: nil)
        let errors = result.messages.filter { $0.level == .error }
        if !errors.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
            return .failure([
                "message": "The answers do not make a valid configuration; nothing was written.",
                "configurationValidationErrors": .array(errors.map(\.json)),
            ])
        }
        var o: JSONObject = [
            "message": .string("Configuration file written to \(path). Create the cluster with: pcluster create-cluster -n NAME -c \(path)")
        ]
        o["validationMessages"] = validationMessagesField(result.messages)
        return .ok(.object(o))
    }
}
