import Foundation
import JSONOutput

/// The original reads its command line with Python's argparse, and what argparse answers to a line it
/// cannot take (its usage text, wrapped to the terminal, its error sentences, exit 2; unknown arguments
/// on stdout with exit 1; values converted, and refused as JSON, in the order they come) is what users'
/// scripts see. No Swift package speaks argparse, so this does, by hand, from the original's parsers
/// (`ArgparseSpec.original`, generated from them). Lines it accepts go on, rewritten into plain long
/// options, to swift-argument-parser, which builds the commands.
enum ArgparseSpec {
    /// Options of ours the original does not have: accepted, and left out of its usage text.
    static let additions: [String: [ArgparseAction]] = [
        "create-cluster": [
            ArgparseAction(["--provider"], dest: "provider", arity: .one, hidden: true),
            ArgparseAction(["--template-output"], dest: "template_output", arity: .one, hidden: true),
        ]
    ]

    static let commands: [ArgparseCommand] = original.map { command in
        var command = command
        command.actions += additions[command.name] ?? []
        return command
    }

    static func command(_ name: String) -> ArgparseCommand? { commands.first { $0.name == name } }
}

struct ArgparseCommand: Sendable {
    var name: String
    /// ssh: what argparse does not know goes to the command it runs.
    var takesExtraArguments: Bool
    var actions: [ArgparseAction]

    var prog: String { "pcluster \(name)" }
}

struct ArgparseAction: Sendable {
    enum Arity: Sendable { case help, flag, one, oneOrMore }
    /// What the original's type function does with a value: nothing, or a check that ends the run with a
    /// JSON `Bad Request` (its pattern, boolean, number and file checks), or argparse's own error (times).
    enum Conversion: Sendable, Equatable {
        case text
        case pattern(String, parameter: String)
        case boolean(parameter: String)
        case integer(parameter: String)
        case number(parameter: String)
        case file(parameter: String)
        case iso8601
        /// export-cluster-logs' filters, refused by argparse with the pattern.
        case filters(String)
    }

    var optionStrings: [String]
    var dest: String
    var arity: Arity
    var required = false
    var choices: [String]? = nil
    var conversion: Conversion = .text
    /// argparse.SUPPRESS: accepted, not in the usage text.
    var hidden = false

    init(
        _ optionStrings: [String], dest: String, arity: Arity, required: Bool = false, choices: [String]? = nil,
        conversion: Conversion = .text, hidden: Bool = false
    ) {
        self.optionStrings = optionStrings
        self.dest = dest
        self.arity = arity
        self.required = required
        self.choices = choices
        self.conversion = conversion
        self.hidden = hidden
    }

    /// How errors name it: `-n/--cluster-name`.
    var displayName: String { optionStrings.joined(separator: "/") }
    /// The long form swift-argument-parser is given.
    var canonical: String { optionStrings.last { $0.hasPrefix("--") } ?? optionStrings[0] }
    var metavar: String { choices.map { "{" + $0.joined(separator: ",") + "}" } ?? dest.uppercased() }

    /// Its part of the usage line.
    var usage: String {
        let name = optionStrings[0]
        let text: String
        switch arity {
        case .help, .flag: text = name
        case .one: text = "\(name) \(metavar)"
        case .oneOrMore: text = "\(name) \(metavar) [\(metavar) ...]"
        }
        return required ? text : "[\(text)]"
    }
}

/// What argparse makes of a command line.
enum ArgparseVerdict: Error, Equatable {
    /// Accepted: the line in plain long options, and what ssh passes on.
    case accepted([String])
    /// `-h`: the command's help (ours; None for the top level).
    case help(command: String?)
    /// argparse's error: usage and message on stderr, exit 2.
    case usageError(String)
    /// Arguments nobody takes: the top-level usage and the list on stdout, exit 1.
    case invalidArguments(String)
    /// A value the original's type functions refuse: JSON on stdout, exit 1.
    case badRequest(String)
}

enum Argparse {
    static let topUsageParts = ["[-h]"]

    /// Parses as the original's `parser.parse_known_args` followed by its check for leftovers.
    static func parse(_ arguments: [String], columns: Int) -> ArgparseVerdict {
        let width = max(columns - 2, 11)
        let topUsage = usage(prog: "pcluster", optionals: topUsageParts, positionals: topPositionals, width: width)
        // The top level has -h and the command; anything before the command is argparse's to judge.
        var index = 0
        var leading: [String] = []
        while index < arguments.count, arguments[index].hasPrefix("-"), arguments[index] != "-" {
            if arguments[index] == "-h" || arguments[index] == "--help" || (arguments[index].count > 2 && "--help".hasPrefix(arguments[index])) {
                return .help(command: nil)
            }
            leading.append(arguments[index])
            index += 1
        }
        guard index < arguments.count else {
            return .usageError(topUsage + "pcluster: error: the following arguments are required: operation\n")
        }
        let name = arguments[index]
        guard let command = ArgparseSpec.command(name) else {
            let choices = ArgparseSpec.original.map { PythonRepr.string($0.name) }.joined(separator: ", ")
            return .usageError(
                topUsage + "pcluster: error: argument operation: invalid choice: \(PythonRepr.string(name)) (choose from \(choices))\n")
        }
        switch parse(Array(arguments[(index + 1)...]), command: command, width: width) {
        case .failure(let verdict): return verdict
        case .success(let (line, extras)):
            let leftovers = leading + extras
            if !leftovers.isEmpty && !command.takesExtraArguments {
                return .invalidArguments(topUsage + "Invalid arguments [\(leftovers.map { PythonRepr.string($0) }.joined(separator: ", "))]\n")
            }
            return .accepted([name] + line + leftovers)
        }
    }

    static var topPositionals: [String] {
        ["{" + ArgparseSpec.original.map(\.name).joined(separator: ",") + "}", "..."]
    }

    /// A subcommand's arguments, as its subparser's parse_known_args: the line in plain long options and
    /// what it did not recognise, or argparse's answer.
    static func parse(_ arguments: [String], command: ArgparseCommand, width: Int) -> Result<([String], [String]), ArgparseVerdict> {
        let commandUsage = usage(
            prog: command.prog, optionals: command.actions.filter { !$0.hidden }.map(\.usage), positionals: [], width: width)
        func error(_ message: String) -> ArgparseVerdict { .usageError(commandUsage + "\(command.prog): error: \(message)\n") }
        var line: [String] = [], extras: [String] = []
        var seen = Set<String>()
        var index = 0
        var optionsEnded = false
        /// What argparse's `_parse_optional` makes of an argument.
        func classify(_ argument: String) -> Result<Word, ArgparseVerdict> {
            guard !optionsEnded, argument.hasPrefix("-"), argument != "-" else { return .success(.positional) }
            if let action = command.actions.first(where: { $0.optionStrings.contains(argument) }) { return .success(.option(action, nil)) }
            if let equals = argument.firstIndex(of: "=") {
                let option = String(argument[..<equals])
                if let action = command.actions.first(where: { $0.optionStrings.contains(option) }) {
                    return .success(.option(action, String(argument[argument.index(after: equals)...])))
                }
            }
            var matches: [(ArgparseAction, String, String?)] = []
            if argument.hasPrefix("--") {
                let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                for action in command.actions {
                    for option in action.optionStrings where option.hasPrefix(parts[0]) {
                        matches.append((action, option, parts.count == 2 ? parts[1] : nil))
                    }
                }
            } else {
                let short = String(argument.prefix(2)), rest = String(argument.dropFirst(2))
                for action in command.actions {
                    for option in action.optionStrings {
                        if option == short {
                            matches.append((action, option, rest))
                        } else if option.hasPrefix(argument) {
                            matches.append((action, option, nil))
                        }
                    }
                }
            }
            if matches.count > 1 {
                return .failure(error("ambiguous option: \(argument) could match \(matches.map(\.1).joined(separator: ", "))"))
            }
            if let match = matches.first { return .success(.option(match.0, match.2)) }
            // A negative number or a string with a space is a positional, as argparse sees it.
            if Double(argument) != nil || argument.contains(" ") { return .success(.positional) }
            return .success(.unknownOption)
        }
        func isOption(_ argument: String) -> Bool {
            if case .success(.positional) = classify(argument) { return false }
            return true
        }
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" && !optionsEnded {
                // Python 3.11's argparse keeps the `--` among what it did not use.
                optionsEnded = true
                extras.append(argument)
                continue
            }
            let action: ArgparseAction, explicit: String?
            switch classify(argument) {
            case .failure(let verdict): return .failure(verdict)
            case .success(.positional), .success(.unknownOption):
                extras.append(argument)
                continue
            case .success(.option(let a, let e)): (action, explicit) = (a, e)
            }
            var values: [String] = []
            switch action.arity {
            case .help:
                return .failure(.help(command: command.name))
            case .flag:
                if let explicit, !explicit.isEmpty || argument.contains("=") {
                    return .failure(error("argument \(action.displayName): ignored explicit argument \(PythonRepr.string(explicit))"))
                }
            case .one:
                if let explicit, !(explicit.isEmpty && !argument.contains("=")) {
                    values = [explicit]
                } else if index < arguments.count, !isOption(arguments[index]) || optionsEnded {
                    values = [arguments[index]]
                    index += 1
                } else {
                    return .failure(error("argument \(action.displayName): expected one argument"))
                }
            case .oneOrMore:
                if let explicit, !(explicit.isEmpty && !argument.contains("=")) {
                    values = [explicit]
                } else {
                    while index < arguments.count, optionsEnded || !isOption(arguments[index]) {
                        if arguments[index] == "--" && !optionsEnded {
                            optionsEnded = true
                            index += 1
                            continue
                        }
                        values.append(arguments[index])
                        index += 1
                    }
                    if values.isEmpty { return .failure(error("argument \(action.displayName): expected at least one argument")) }
                }
            }
            for value in values {
                if let refusal = convert(value, action.conversion) {
                    switch refusal {
                    case .badRequest(let message): return .failure(.badRequest(message))
                    case .argparse(let message): return .failure(error("argument \(action.displayName): \(message)"))
                    }
                }
            }
            if let choices = action.choices, let wrong = values.first(where: { !choices.contains($0) }) {
                let offered = choices.map(PythonRepr.string).joined(separator: ", ")
                return .failure(error("argument \(action.displayName): invalid choice: \(PythonRepr.string(wrong)) (choose from \(offered))"))
            }
            seen.insert(action.dest)
            switch action.arity {
            case .flag: line.append(action.canonical)
            case .one: line.append("\(action.canonical)=\(values[0])")
            case .oneOrMore: line += [action.canonical] + values
            case .help: break
            }
        }
        let missing = command.actions.filter { $0.required && !seen.contains($0.dest) }
        if !missing.isEmpty {
            return .failure(error("the following arguments are required: \(missing.map(\.displayName).joined(separator: ", "))"))
        }
        return .success((line, extras))
    }

    /// One argument as argparse classifies it.
    enum Word {
        case positional, unknownOption
        /// An option, with the value written into the same argument (`--x=v`, `-nNAME`), if any.
        case option(ArgparseAction, String?)
    }

    enum ConversionRefusal {
        case badRequest(String)
        case argparse(String)
    }

    /// The original's type functions (pcluster/cli/entrypoint.py, commands/common.py), as they judge a value.
    static func convert(_ value: String, _ conversion: ArgparseAction.Conversion) -> ConversionRefusal? {
        switch conversion {
        case .text:
            return nil
        case .pattern(let pattern, let parameter):
            // Python's re.match: anchored at the start only (these patterns carry their own `$`).
            guard value.range(of: pattern, options: [.regularExpression, .anchored]) == nil else { return nil }
            return .badRequest("Bad Request: '\(value)' does not match '\(pattern)' - '\(parameter)'")
        case .boolean(let parameter):
            guard !BooleanSpellings.all.contains(value) else { return nil }
            return .badRequest("Bad Request: Wrong type, expected 'boolean' for parameter '\(parameter)'")
        case .integer(let parameter):
            guard PythonNumbers.int(value) == nil else { return nil }
            return .badRequest("Bad Request: Wrong type, expected 'int' for parameter '\(parameter)'")
        case .number(let parameter):
            guard PythonNumbers.float(value) == nil else { return nil }
            return .badRequest("Bad Request: Wrong type, expected 'number' for parameter '\(parameter)'")
        case .file:
            guard !FileManager.default.fileExists(atPath: value) else { return nil }
            return .badRequest("Bad Request: File not found: '\(value)'")
        case .filters(let pattern):
            guard value.range(of: pattern, options: [.regularExpression, .anchored]) == nil else { return nil }
            return .argparse("filters parameter must be in the form \(pattern) ")
        case .iso8601:
            guard LogTime.parse(value) == nil else { return nil }
            return .argparse(
                "Start time and end time filters must be in the ISO 8601 UTC format: YYYY-MM-DDThh:mm:ssZ (e.g. 1984-09-15T19:20:30Z or 1984-09-15). Unknown string format: \(value)"
            )
        }
    }

}

/// The spellings the original's `to_bool` takes.
enum BooleanSpellings {
    static let truths: Set<String> = ["true", "True", "TRUE"]
    static let all: Set<String> = truths.union(["false", "False", "FALSE"])
}

/// Python's int() and float() of a command-line string.
enum PythonNumbers {
    static func int(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        guard !t.isEmpty, !text.hasPrefix("_"), !text.hasSuffix("_") else { return nil }
        return Int(t.hasPrefix("+") ? String(t.dropFirst()) : t)
    }

    static func float(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if ["inf", "+inf", "infinity", "+infinity"].contains(t) { return .infinity }
        if ["-inf", "-infinity"].contains(t) { return -.infinity }
        if ["nan", "+nan", "-nan"].contains(t) { return .nan }
        guard !t.isEmpty, t.allSatisfy({ "0123456789.eE+-_".contains($0) }) else { return nil }
        return Double(t.replacingOccurrences(of: "_", with: ""))
    }
}
