import Foundation

/// Reads times and durations written by people in configs and on the command line.
public enum TimeParsing {
    /// Unix seconds, `YYYY-MM-DD`, or ISO 8601 with time and zone.
    public static func parse(_ text: String) -> Int64? {
        if let t = Int64(text), t >= 0 { return t }
        let iso = ISO8601DateFormatter()
        if let d = iso.date(from: text) { return Int64(d.timeIntervalSince1970) }
        iso.formatOptions = [.withFullDate]
        if let d = iso.date(from: text) { return Int64(d.timeIntervalSince1970) }
        return nil
    }

    /// `90s`, `30m`, `6h`, `2d` or plain seconds.
    public static func duration(_ text: String) -> Duration? {
        guard let unit = text.last else { return nil }
        if let n = Int64(text), n > 0 { return .seconds(n) }
        guard let n = Int64(text.dropLast()), n > 0 else { return nil }
        switch unit {
        case "s": return .seconds(n)
        case "m": return .seconds(n * 60)
        case "h": return .seconds(n * 3600)
        case "d": return .seconds(n * 86_400)
        default: return nil
        }
    }
}
