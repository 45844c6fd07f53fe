import Logging

extension Logger {
    /// A connection (or an attempt) ended and the next one is `retryIn` away.
    func disconnected(level: Logger.Level, error: RelayConnectionError?, reason: String, failures: Int, retryIn delay: Duration) {
        var metadata: Logger.Metadata = [
            "relay.error": .string(error?.summary ?? reason),
            "relay.failures": "\(failures)",
            "relay.retry_in_ms": "\(Int(delay.milliseconds))",
        ]
        // swift-nio's own text (`Connection errors: SingleConnectionFailure(…)`) is for whoever
        // debugs the client: the summary already says what happened and what to do.
        if let error, logLevel <= .debug {
            metadata["relay.error.detail"] = .string("\(error.underlying)")
        }
        log(level: level, "relay disconnected", metadata: metadata)
    }
}
