import AWSCore
import Foundation
import Testing

/// Our hand-written parser of AWS's wire dates against Foundation's formatters, over dates spread from 1970
/// to 2200 (leap years, month ends, fractions), and what it must refuse.
struct WireDateTests {
    static func formatters() -> (iso: ISO8601DateFormatter, fractional: ISO8601DateFormatter, rfc: DateFormatter) {
        let iso = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let rfc = DateFormatter()
        rfc.locale = Locale(identifier: "en_US_POSIX")
        rfc.timeZone = TimeZone(identifier: "GMT")
        rfc.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return (iso, fractional, rfc)
    }

    @Test func agreesWithFoundationFrom1970To2200() {
        let (iso, fractional, rfc) = Self.formatters()
        var generator = SystemRandomNumberGenerator()
        var moments: [Double] = [0, 951_782_400, 951_868_799, 1_709_164_800, 4_102_444_799, 7_258_118_400]
        for _ in 0..<2000 { moments.append(Double(Int.random(in: 0...7_258_118_400, using: &generator))) }
        for seconds in moments {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(WireDate.parse(iso.string(from: date)) == date, "\(iso.string(from: date))")
            #expect(WireDate.parse(rfc.string(from: date)) == date, "\(rfc.string(from: date))")
            let withMillis = Date(timeIntervalSince1970: seconds + 0.125)
            let text = fractional.string(from: withMillis)
            #expect(WireDate.iso8601(text).map { abs($0.timeIntervalSince(withMillis)) < 1e-6 } == true, "\(text)")
        }
    }

    @Test func offsetsFractionsAndRefusals() {
        #expect(WireDate.parse("2026-11-28T12:00:00+01:30")?.timeIntervalSince1970 == 1_795_861_800)
        #expect(WireDate.parse("2026-11-28T12:00:00.5Z")?.timeIntervalSince1970 == 1_795_867_200.5)
        #expect(WireDate.parse("Sat, 28 Nov 2026 12:00:00 GMT")?.timeIntervalSince1970 == 1_795_867_200)
        for bad in [
            "", "2026-11-28", "2026-13-28T12:00:00Z", "2026-11-28T12:00:00", "2026-11-28T25:00:00Z",
            "2026-11-28T12:00:00.Z", "Sat, 28 Foo 2026 12:00:00 GMT", "Sat, 28 Nov 2026 12:00:00 PST", "2026-11-28T12:00:00Zjunk",
        ] {
            #expect(WireDate.parse(bad) == nil, "\(bad)")
        }
    }
}
