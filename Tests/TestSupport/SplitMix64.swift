import Foundation

/// A small seeded generator (SplitMix64), so a random sequence replays from its seed.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` bytes that do not compress or repeat, from a SplitMix64 seeded by the system. The system
/// generator costs a getrandom(2) per eight bytes: filling 100 MiB with it held a cooperative thread for
/// tens of seconds of the suite (seen in stack samples of a CI run).
package func randomBytes(_ count: Int) -> Data {
    var generator = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
    var data = Data(count: count)
    data.withUnsafeMutableBytes { buffer in
        let words = buffer.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = generator.next() }
        var last = generator.next()
        for index in (words.count * 8)..<count {
            buffer[index] = UInt8(truncatingIfNeeded: last)
            last >>= 8
        }
    }
    return data
}
