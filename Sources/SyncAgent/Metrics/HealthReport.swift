import Synchronization

/// What `/healthz` answers: healthy when every watched service runs and the ledger takes a
/// write; otherwise each problem named.
public struct HealthReport: Sendable, Codable, Equatable {
    public var status: String
    /// Why the agent is unhealthy (absent problems mean healthy).
    public var problems: [String]
    /// Worth knowing but not unhealthy: relays not connected right now.
    public var warnings: [String]

    public var healthy: Bool { problems.isEmpty }

    static func make(stoppedServices: [String], ledgerError: String?, disconnectedRelays: [String]) -> HealthReport {
        var problems = stoppedServices.sorted().map { "service not running: \($0)" }
        if let ledgerError { problems.append("ledger not writable: \(ledgerError)") }
        return HealthReport(
            status: problems.isEmpty ? "ok" : "unhealthy", problems: problems,
            warnings: disconnectedRelays.sorted().map { "relay not connected: \($0)" })
    }
}

/// Which long-running services are up, for `/healthz`: each marks itself running while its
/// `run()` runs.
final class ServiceWatch: Sendable {
    private let state = Mutex<(expected: Set<String>, running: Set<String>)>(([], []))

    func expect(_ name: String) { _ = state.withLock { $0.expected.insert(name) } }
    func started(_ name: String) { _ = state.withLock { $0.running.insert(name) } }
    func stopped(_ name: String) { _ = state.withLock { $0.running.remove(name) } }

    var stopped: [String] { state.withLock { Array($0.expected.subtracting($0.running)) } }
}
