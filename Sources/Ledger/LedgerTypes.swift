import NostrCore

/// An event as received from one relay, already verified by the caller.
public struct ObservedEvent: Sendable {
    public let event: Event
    public let relay: RelayURL
    /// The scope indexes (`registerScopeIndexes` keys) the event belongs to.
    public var indexes: [String]

    public init(event: Event, relay: RelayURL, indexes: [String] = []) {
        self.event = event
        self.relay = relay
        self.indexes = indexes
    }
}

/// What `record` did with one event. None of these is an error.
public enum RecordOutcome: Sendable, Equatable {
    /// First time seen; deliveries were scheduled.
    case new(seq: Int64)
    /// Already in the ledger; the relay was noted as having it.
    case known
    /// Ephemeral kind: neither stored nor delivered.
    case ephemeral
    /// An older version of a replaceable or addressable event: stored, never pushed.
    case superseded(seq: Int64)
    /// Expired (NIP-40): stored, never pushed.
    case expired(seq: Int64)

    /// The ledger seq of a first sighting; nil for known and ephemeral events.
    public var seq: Int64? {
        switch self {
        case let .new(seq), let .superseded(seq), let .expired(seq): seq
        case .known, .ephemeral: nil
        }
    }
}

/// Per relay, per event: what the relay is known to hold or what we owe it.
public enum DeliveryState: String, Sendable, Codable, CaseIterable {
    case present, pending, delivered, duplicate, rejected, superseded, expired
}

public struct PendingDelivery: Sendable, Equatable {
    public let seq: Int64
    public let eventID: String
    public let kind: Int
    public let relay: RelayURL
    /// The event's verified text as received: the event's own `String` when handed over fresh,
    /// bytes when read back from the ledger (sent as they are, with no `String` made of them).
    public let text: EventText
    public let attempts: Int

    public init(seq: Int64, eventID: String, kind: Int, relay: RelayURL, text: EventText, attempts: Int) {
        self.seq = seq
        self.eventID = eventID
        self.kind = kind
        self.relay = relay
        self.text = text
        self.attempts = attempts
    }

    public init(seq: Int64, eventID: String, kind: Int, relay: RelayURL, rawJSON: String, attempts: Int) {
        self.init(seq: seq, eventID: eventID, kind: kind, relay: relay, text: .string(rawJSON), attempts: attempts)
    }

    /// The event's verified text as received.
    public var rawJSON: String { text.string }
}

public struct DeliveryResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        case delivered
        case duplicate
        /// Permanent: recorded with the reason, never retried.
        case rejected(String)
        /// Transient: retried after the delay.
        case retry(String, afterSeconds: Int64)
    }

    public let eventID: String
    public let relay: RelayURL
    public let outcome: Outcome
    /// The event's ledger seq (from `dueDeliveries` or `record`): the delivery row's key.
    public var seq: Int64

    public init(eventID: String, relay: RelayURL, outcome: Outcome, seq: Int64) {
        self.eventID = eventID
        self.relay = relay
        self.outcome = outcome
        self.seq = seq
    }
}

/// Where a relay's backfill stands for one author.
public struct BackfillCursor: Sendable, Hashable, Codable {
    /// `until` of the next page to fetch; nil before the first page.
    public var until: Int64?
    public var complete: Bool
    /// Newest `created_at` seen, for catching up after a restart.
    public var newestSeen: Int64?

    public init(until: Int64? = nil, complete: Bool = false, newestSeen: Int64? = nil) {
        self.until = until
        self.complete = complete
        self.newestSeen = newestSeen
    }
}

public struct StoredEvent: Sendable {
    public let seq: Int64
    public let id: String
    public let createdAt: Int64
    public let rawJSON: String
}

public struct RelayStatistics: Sendable, Codable {
    public var relay: RelayURL
    public var present = 0
    public var pending = 0
    public var delivered = 0
    public var duplicate = 0
    public var rejected = 0
    public var rejectedByReason: [String: Int] = [:]
    public var superseded = 0
    public var lastSuccessAt: Int64?
    public var lastError: String?
    public var lastErrorAt: Int64?
    public var backfillAuthorsComplete = 0
    public var backfillAuthorsTotal = 0

    public init(relay: RelayURL) { self.relay = relay }
}

/// A ledger operation that failed, with the database path, what was being done and the
/// underlying error (GRDB's, with SQLite's code), kept for callers that look into it.
public struct LedgerError: Error, CustomStringConvertible {
    private enum Kind: Sendable {
        case failed(any Error)
        /// A row the ledger's own invariants promise is not there.
        case inconsistent(String)
    }

    public let path: String
    public let operation: String
    private let kind: Kind

    init(path: String, operation: String, underlying: any Error) {
        self.path = path
        self.operation = operation
        kind = .failed(underlying)
    }

    init(path: String, operation: String, inconsistency: String) {
        self.path = path
        self.operation = operation
        kind = .inconsistent(inconsistency)
    }

    public var underlying: (any Error)? {
        if case let .failed(error) = kind { return error }
        return nil
    }

    public var description: String {
        switch kind {
        case let .failed(error): "ledger \(path): \(operation) failed: \(error)"
        case let .inconsistent(what): "ledger \(path): \(operation) failed: \(what)"
        }
    }
}

/// A relay list or profile as cached, with where and when it was fetched.
public struct CachedAuthorMetadata: Sendable, Equatable {
    public var raw: String
    public var sourceRelay: String
    public var fetchedAt: Int64

    public init(raw: String, sourceRelay: String, fetchedAt: Int64) {
        self.raw = raw
        self.sourceRelay = sourceRelay
        self.fetchedAt = fetchedAt
    }
}

/// A relay's last measured figures, kept as JSON so the ledger does not depend on their shape.
public struct RelayHealthRecord: Sendable, Equatable {
    public var figuresJSON: String?
    public var informationJSON: String?
    public var updatedAt: Int64

    public init(figuresJSON: String?, informationJSON: String?, updatedAt: Int64) {
        self.figuresJSON = figuresJSON
        self.informationJSON = informationJSON
        self.updatedAt = updatedAt
    }
}
