import Logging
import NostrCore

extension Logger {
    /// This logger with the relay's URL (`relay.url`) on every line: the one way a statement about
    /// one relay names it, so the statement itself carries only its own data.
    func forRelay(_ url: RelayURL) -> Logger {
        var logger = self
        logger[metadataKey: "relay.url"] = .string(url.normalized)
        return logger
    }
}
