/// How log lines are written to stderr: `text` for people (the default), `json` for journald
/// and log shippers (one object a line).
public enum LogFormat: String, Sendable, CaseIterable, Codable {
    case text
    case json
}
