import Foundation

/// The one JSON form of every `--json` output: keys sorted (stable diffs for scripts), pretty,
/// and `/` left unescaped (relay URLs read as written).
public enum JSONOutput {
    public static func string<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }
}
