/// A configuration mistake, naming the key path (`relays[2].url`) and what is wrong; read from a
/// file, it also names the file as the user gave it, and for a JSON syntax error the line and column.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var reason: String
    /// The config file as named on the command line (`sync.json`), when the error came from one.
    public var file: String?
    /// 1-based line and column (in characters) of a JSON syntax error.
    public var line: Int?
    public var column: Int?

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    /// `sync.json:3:14: expected ',' or '}'`, `sync.json: relays[2].url: not a ws:// or wss:// URL`,
    /// `sync.json: no such file`; without a file, `relays[2].url: …` or `line 3, column 14: …`.
    public var description: String {
        var out = ""
        if let file {
            out = file + ":"
            if let line, let column { out += "\(line):\(column):" }
            out += " "
        } else if let line, let column {
            out = "line \(line), column \(column): "
        }
        return out + (key.isEmpty ? reason : "\(key): \(reason)")
    }

    /// The same error, said of `file`.
    public func inFile(_ file: String) -> ConfigError {
        var e = self
        e.file = file
        return e
    }
}

/// Where a byte offset falls in a text, as editors count: 1-based line, and 1-based column in
/// characters (a multi-byte character counts once).
public enum TextPosition {
    public static func lineAndColumn(of byteOffset: Int, in text: String) -> (line: Int, column: Int) {
        let bytes = Array(text.utf8)
        let end = max(0, min(byteOffset, bytes.count))
        var line = 1, lineStart = 0
        for i in 0..<end where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let column = String(decoding: bytes[lineStart..<end], as: UTF8.self).count + 1
        return (line, column)
    }
}
