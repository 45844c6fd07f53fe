import Foundation

/// The one JSON form of every `--json` output, a stable interface (docs/status.md): snake_case
/// keys (field names only: dictionary keys such as relay URLs and reasons stay as they are),
/// sorted for stable diffs, pretty, and `/` left unescaped so relay URLs read as written.
public enum JSONOutput {
    public static func string<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }
}
