import HSM
import LfsProtocol
import Testing

/// The `lfs` ↔ mount protocol: every value one side writes, the other reads back the same; malformed requests
/// are refused rather than half-understood.
@Suite struct LfsProtocolTests {
    @Test func everyHSMStateRoundTrips() {
        for bits in 0..<UInt32(1 << 8) {
            for archiveId in [UInt32(0), 1, 32] {
                let state = HSMState(flags: HSMFlags(rawValue: bits), archiveId: archiveId)
                #expect(LfsValue.state(LfsValue.encode(state)) == state)
            }
        }
    }

    @Test func everyActionRoundTrips() {
        let actions: [HSMAction] = [
            .noop, .archive(bytesMoved: 0), .archive(bytesMoved: 1 << 40), .restore(bytesMoved: 7),
            .remove(bytesMoved: 0), .archiveWaiting,
        ]
        for action in actions { #expect(LfsValue.action(LfsValue.encode(action)) == action) }
        #expect(LfsValue.action("garbage") == .noop)
    }

    @Test func spaceRoundTripsAndRefusesShortValues() {
        let space = LfsValue.Space(capacityBytes: 1_200 << 30, usedBytes: 5, inodes: 3, freeInodes: 16_777_213)
        #expect(LfsValue.Space(space.encoded) == space)
        #expect(LfsValue.Space("1 2 3") == nil)
        #expect(LfsValue.Space("1 2 x 4") == nil)
    }

    @Test func requestsRoundTripAndMalformedOnesAreRefused() {
        let requests: [LfsRequest] = [
            .archive, .release, .restore, .remove,
            .set(setting: [.noRelease, .dirty], clearing: [], archiveId: nil),
            .set(setting: [], clearing: [.lost], archiveId: 2),
        ]
        for request in requests { #expect(LfsRequest(request.encoded) == request) }
        for text in ["", "set", "set 1", "set x 0", "set 1 0 y", "unarchive"] { #expect(LfsRequest(text) == nil, "\(text)") }
    }
}
