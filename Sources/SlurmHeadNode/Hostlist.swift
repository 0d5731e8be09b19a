import Foundation

/// Slurm's compressed host lists ("c6i-dy-compute-[1-3,7],gpu-st-a100-1"), expanded and compressed.
/// Hand-written: it is a few lines, and calling `scontrol show hostnames` for it would need a running
/// controller.
package enum Hostlist {
    package static func expand(_ text: String) -> [String] {
        var names: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "[" { depth += 1 }
            if character == "]" { depth -= 1 }
            if character == "," && depth == 0 {
                names += expandOne(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { names += expandOne(current) }
        return names
    }

    static func expandOne(_ item: String) -> [String] {
        guard let open = item.firstIndex(of: "["), let close = item.lastIndex(of: "]"), open < close else {
            return item.isEmpty ? [] : [item]
        }
        let prefix = String(item[..<open])
        let suffix = String(item[item.index(after: close)...])
        var names: [String] = []
        for range in item[item.index(after: open)..<close].split(separator: ",") {
            let bounds = range.split(separator: "-", maxSplits: 1)
            guard let low = Int(bounds[0]) else { continue }
            let high = bounds.count > 1 ? Int(bounds[1]) ?? low : low
            let width = bounds[0].count
            for value in low...max(low, high) {
                var digits = String(value)
                if digits.count < width { digits = String(repeating: "0", count: width - digits.count) + digits }
                names.append(prefix + digits + suffix)
            }
        }
        return names
    }

    /// "q-dy-c-1,q-dy-c-2,q-dy-c-3" → "q-dy-c-[1-3]" (names with a trailing number, grouped by prefix).
    package static func compress(_ names: [String]) -> String {
        var groups: [(prefix: String, numbers: [Int])] = []
        var plain: [String] = []
        for name in names {
            guard let split = name.lastIndex(where: { !$0.isNumber }), split < name.index(before: name.endIndex),
                let number = Int(name[name.index(after: split)...])
            else {
                plain.append(name)
                continue
            }
            let prefix = String(name[...split])
            if let index = groups.firstIndex(where: { $0.prefix == prefix }) {
                groups[index].numbers.append(number)
            } else {
                groups.append((prefix, [number]))
            }
        }
        var parts = plain
        for group in groups {
            let numbers = Array(Set(group.numbers)).sorted()
            if numbers.count == 1 {
                parts.append("\(group.prefix)\(numbers[0])")
                continue
            }
            var ranges: [String] = []
            var start = numbers[0]
            var previous = numbers[0]
            for number in numbers.dropFirst() + [Int.max] {
                if number == previous + 1 { previous = number; continue }
                ranges.append(start == previous ? "\(start)" : "\(start)-\(previous)")
                start = number
                previous = number
            }
            parts.append("\(group.prefix)[\(ranges.joined(separator: ","))]")
        }
        return parts.joined(separator: ",")
    }
}

/// `<queue>-st|dy-<compute resource>-<n>`, the original's node names.
package struct NodeName: Sendable, Hashable, CustomStringConvertible {
    package var queue: String
    package var isStatic: Bool
    package var computeResource: String
    package var index: Int

    package init(queue: String, isStatic: Bool, computeResource: String, index: Int) {
        self.queue = queue
        self.isStatic = isStatic
        self.computeResource = computeResource
        self.index = index
    }

    package init?(_ text: String) {
        // Queue and compute resource names cannot contain "-st-"/"-dy-" ambiguously: queue names are
        // [a-z][a-z0-9-]*, so take the first "-st-" or "-dy-" as the separator, as the original's regex does.
        guard let match = text.range(of: "-(st|dy)-", options: .regularExpression),
            let dash = text.lastIndex(of: "-"), dash > match.upperBound,
            let index = Int(text[text.index(after: dash)...])
        else { return nil }
        queue = String(text[..<match.lowerBound])
        isStatic = text[match].contains("st")
        computeResource = String(text[match.upperBound..<dash])
        self.index = index
    }

    package var description: String { "\(queue)-\(isStatic ? "st" : "dy")-\(computeResource)-\(index)" }
}
