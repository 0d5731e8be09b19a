import Foundation

/// The two fixed date formats AWS puts on the wire: ISO 8601 in XML bodies (`2026-11-28T12:00:00.000Z`, a
/// fraction of any length or none, `Z` or an offset) and RFC 1123 in headers (`Sat, 28 Nov 2026 12:00:00
/// GMT`). Parsed by hand: Foundation's formatters build an ICU formatter for each parse, and an import's
/// HeadObject calls spent more CPU there than in everything else of the call (a profile of 2,000 heads).
package enum WireDate {
    /// Either format; nil for anything else.
    package static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        if bytes.count >= 20, bytes[4] == UInt8(ascii: "-") { return iso8601(bytes) }
        return rfc1123(bytes)
    }

    /// ISO 8601 / RFC 3339 date-time.
    package static func iso8601(_ text: String) -> Date? {
        iso8601(Array(text.utf8))
    }

    private static func iso8601(_ bytes: [UInt8]) -> Date? {
        var cursor = Cursor(bytes: bytes)
        guard let year = cursor.number(4), cursor.skip("-"), let month = cursor.number(2), cursor.skip("-"),
            let day = cursor.number(2), cursor.skip("T") || cursor.skip("t") || cursor.skip(" "),
            let hour = cursor.number(2), cursor.skip(":"), let minute = cursor.number(2), cursor.skip(":"),
            let second = cursor.number(2)
        else { return nil }
        var fraction = 0.0
        if cursor.skip(".") {
            var scale = 0.1
            var digits = 0
            while let digit = cursor.digit() {
                fraction += Double(digit) * scale
                scale /= 10
                digits += 1
            }
            guard digits > 0 else { return nil }
        }
        var offset = 0
        if cursor.skip("Z") || cursor.skip("z") {
            offset = 0
        } else if let sign = cursor.sign(), let hours = cursor.number(2), cursor.skip(":"), let minutes = cursor.number(2) {
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard cursor.atEnd else { return nil }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: fraction, offset: offset)
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// `Sat, 28 Nov 2026 12:00:00 GMT` (the weekday is not checked, as HTTP's own parsers do not).
    package static func rfc1123(_ bytes: [UInt8]) -> Date? {
        var cursor = Cursor(bytes: bytes)
        guard cursor.word() != nil, cursor.skip(","), cursor.skip(" "), let day = cursor.number(2), cursor.skip(" "),
            let monthName = cursor.word(), let month = months.firstIndex(of: monthName.lowercased()), cursor.skip(" "),
            let year = cursor.number(4), cursor.skip(" "), let hour = cursor.number(2), cursor.skip(":"),
            let minute = cursor.number(2), cursor.skip(":"), let second = cursor.number(2), cursor.skip(" "),
            let zone = cursor.word(), zone == "GMT" || zone == "UTC", cursor.atEnd
        else { return nil }
        return date(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second, fraction: 0, offset: 0)
    }

    private static func date(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: Double, offset: Int) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int? {
            guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
            defer { index += 1 }
            return Int(bytes[index] - 0x30)
        }

        mutating func number(_ width: Int) -> Int? {
            var value = 0
            for _ in 0..<width {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }

        mutating func sign() -> Int? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }

        mutating func word() -> String? {
            let start = index
            while index < bytes.count, (bytes[index] | 0x20) >= 0x61, (bytes[index] | 0x20) <= 0x7a { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }
    }
}
