import Synchronization

/// Running totals for the summary, the status line and progress output.
public final class AgentCounters: Sendable {
    public struct Snapshot: Sendable, Codable {
        public var fetched: [String: Int] = [:]
        public var new = 0
        public var known = 0
        public var superseded = 0
        public var expired = 0
        public var ephemeral = 0
        public var delivered: [String: Int] = [:]
        public var duplicates: [String: Int] = [:]
        public var rejected: [String: [String: Int]] = [:]
        public var retried: [String: Int] = [:]
        public var archived = 0
        /// Events new to the ledger by scope ("authors", "inbox", "filters[N]"); one event may
        /// belong to several.
        public var newByScope: [String: Int] = [:]
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }
}
