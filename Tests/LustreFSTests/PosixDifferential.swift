import Foundation

/// Runs a sequence on every tree and reports the first step where a tree differs from the reference (the
/// first tree): the outcome of the call, or the state of a path it touched.
struct PosixDifferential: Sendable {
    let trees: [PosixTree]

    struct Mismatch: CustomStringConvertible, Sendable {
        var step: Int
        var what: String
        var description: String { "step \(step): \(what)" }
    }

    func run(_ steps: [PosixStep]) -> Mismatch? {
        for (index, step) in steps.enumerated() {
            let paths = Array(Set(step.operation.touched)).sorted()
            let before = trees.map { tree in paths.map { tree.snapshot($0, xattrs: false) } }
            let started = PosixSnapshot.now()
            let outcomes = trees.map { $0.apply(step) }
            let after = trees.map { tree in paths.map { tree.snapshot($0, xattrs: step.operation.changesAttributes) } }
            for (tree, outcome) in zip(trees, outcomes).dropFirst() where outcome != outcomes[0] {
                return Mismatch(step: index, what: "\(step): \(tree.root) answered \(outcome), the reference \(outcomes[0])")
            }
            for (number, path) in paths.enumerated() {
                let expected = after[0][number].state
                let expectedTimes = PosixSnapshot.changes(from: before[0][number], to: after[0][number])
                for (treeIndex, tree) in trees.enumerated().dropFirst() {
                    let got = after[treeIndex][number].state
                    if got != expected {
                        return Mismatch(step: index, what: "after \(step): \(path) is \(got) in \(tree.root), \(expected) in the reference")
                    }
                    let times = PosixSnapshot.changes(from: before[treeIndex][number], to: after[treeIndex][number])
                    if times != expectedTimes
                        && !PosixSnapshot.explainedByClockGranularity(
                            reference: (before[0][number], after[0][number]), tree: (before[treeIndex][number], after[treeIndex][number]),
                            stepStarted: started)
                    {
                        return Mismatch(
                            step: index,
                            what: "after \(step): \(path)'s times changed \(times ?? "(other inode)") in \(tree.root), "
                                + "\(expectedTimes ?? "(other inode)") in the reference")
                    }
                }
            }
        }
        return nil
    }

    /// Shortens a failing sequence: drops steps (halves first, then one at a time) while it still fails,
    /// replaying from empty trees each time, within `budget` replays and `seconds`.
    func shrink(_ operations: [PosixStep], budget: Int = 300, seconds: Double = 120) throws -> [PosixStep] {
        var current = operations
        var replays = 0
        let deadline = Date().addingTimeInterval(seconds)
        func fails(_ candidate: [PosixStep]) throws -> Bool {
            replays += 1
            for tree in trees { try tree.clear() }
            return run(candidate) != nil
        }
        // A failure that does not come back on a replay depends on timing: shrinking it would only spend the budget.
        guard try fails(current) else { return current }
        var chunk = max(1, current.count / 2)
        while chunk >= 1 && replays < budget && Date() < deadline {
            var start = 0
            var removedAny = false
            while start < current.count && replays < budget && Date() < deadline {
                var candidate = current
                candidate.removeSubrange(start..<min(current.count, start + chunk))
                if try fails(candidate) {
                    current = candidate
                    removedAny = true
                } else {
                    start += chunk
                }
            }
            if !removedAny { chunk /= 2 }
        }
        return current
    }
}
