import Ledger
import Logging
import NostrCore
import RelayClient
import Synchronization

/// Fetches all history of each scope (the configured authors', the inbox, each filter) from
/// one readable relay, resumable: each page moves the member's cursor in the ledger, so a
/// restart continues where the last committed page ended. Members with the same cursor share
/// one subscription. A scope other than the authors' that the relay refuses (an AUTH the agent
/// cannot answer, say) is noted in the ledger for reports and does not stop the others.
struct BackfillJob: Sendable {
    let relay: Relay
    let scopes: [SyncScope]
    let ledger: any AgentLedgerStore
    let ingestor: EventIngestor
    let logger: Logger
    /// Whether to re-read above the newest event seen. Off when reconciliation runs after the
    /// backfill: comparing sets finds all of it, and more, so the dated re-read only costs round trips.
    var catchUp = true
    /// Seconds re-read below the newest event seen, for relays that accept late events.
    static let catchUpOverlap: Int64 = 600
    static let authorsPerSubscription = 250
    /// How far ahead of our clock a `created_at` may move a cursor (relays accept about 15 minutes).
    static let futureTolerance: Int64 = 900

    struct Result: Sendable {
        var events = 0
        var groups = 0
        /// The scopes whose every member's history was walked from the newest event down in this
        /// run: the ledger now holds all the relay had of them (a comparison of sets right after
        /// would read it all again).
        var readWholeHistory: Set<ScopeName> = []
        /// Scopes the relay would not serve (by record name), with its reason.
        var refused: [String: String] = [:]
    }

    func run() async throws -> Result {
        var result = Result()
        for scope in scopes {
            do {
                let whole = try await run(scope, into: &result)
                if whole { result.readWholeHistory.insert(scope.name) }
                if scope.name != .authors { try await ledger.noteScopeProblem(relay: relay.url, scope: scope.recordName, nil, at: WallClock.unixNow()) }
            } catch let error as RelayFetchError where scope.name != .authors {
                guard case let .closedByRelay(reason) = error.reason else { throw error }
                let problem = ScopeRefusal.describe(reason, relay: relay)
                result.refused[scope.recordName] = problem
                try await ledger.noteScopeProblem(relay: relay.url, scope: scope.recordName, problem, at: WallClock.unixNow())
                logger.forRelay(relay.url).warning(
                    "relay refused a scope", metadata: ["scope": "\(scope.name)", "reason": "\(problem)"])
            }
        }
        try await ledger.noteRelaySuccess(relay.url, at: WallClock.unixNow())
        return result
    }

    /// One scope's members, grouped by cursor. Returns whether its whole history was read now.
    private func run(_ scope: SyncScope, into result: inout Result) async throws -> Bool {
        let url = relay.url
        let keys = scope.members.map(scope.cursorKey)
        let cursors = try await ledger.cursors(relay: url, pubkeys: keys)
        var groups: [BackfillCursor: [String]] = [:]
        for member in scope.members {
            groups[cursors[scope.cursorKey(member)] ?? BackfillCursor(until: nil, complete: false, newestSeen: nil), default: []].append(member)
        }
        var whole = true
        for (cursor, members) in groups.sorted(by: { ($0.key.until ?? .max) > ($1.key.until ?? .max) }) {
            if cursor.until != nil || cursor.complete { whole = false }
            for start in stride(from: 0, to: members.count, by: Self.authorsPerSubscription) {
                let chunk = Array(members[start..<min(start + Self.authorsPerSubscription, members.count)])
                result.events += try await backfill(scope, chunk, from: cursor)
                result.groups += 1
            }
        }
        return whole
    }

    /// Catch up above the newest event seen (events published while we were
    /// away), then continue the descending history walk if it was unfinished.
    private func backfill(_ scope: SyncScope, _ chunk: [String], from cursor: BackfillCursor) async throws -> Int {
        let state = CursorBox(cursor)
        let keys = chunk.map(scope.cursorKey)
        var count = 0
        if catchUp, let newest = cursor.newestSeen {
            var filter = scope.filter(for: chunk)
            filter.since = max(scope.since ?? 0, newest - Self.catchUpOverlap)
            count += try await fetch(filter, chunk: keys, state: state, movesUntil: false)
        }
        if !cursor.complete {
            var filter = scope.filter(for: chunk)
            filter.until = cursor.until
            count += try await fetch(filter, chunk: keys, state: state, movesUntil: true)
        }
        return count
    }

    private func fetch(_ filter: Filter, chunk: [String], state: CursorBox, movesUntil: Bool) async throws -> Int {
        let url = relay.url
        let ledger = ledger, ingestor = ingestor
        let summary = try await relay.fetchAll(filter) { page, position in
            try await ingestor.ingest(page, from: url)
            let updated = state.value.withLock { c -> BackfillCursor in
                // A future-dated event must not carry the catch-up point past our own clock.
                if let top = page.map(\.createdAt).max().map({ min($0, WallClock.unixNow() + Self.futureTolerance) }) {
                    c.newestSeen = max(c.newestSeen ?? top, top)
                }
                if movesUntil {
                    c.until = position.nextUntil
                    c.complete = position.complete
                }
                return c
            }
            try await ledger.setCursor(updated, relay: url, pubkeys: chunk)
        }
        if movesUntil {
            let done = state.value.withLock { c -> BackfillCursor in
                c.complete = true; return c
            }
            try await ledger.setCursor(done, relay: url, pubkeys: chunk)
        }
        logger.forRelay(url).debug("backfill pass finished", metadata: ["events": "\(summary.events)", "members": "\(chunk.count)"])
        return summary.events
    }
}

/// The cursor a backfill pass moves, shared with the page callback.
final class CursorBox: Sendable {
    let value: Mutex<BackfillCursor>
    init(_ cursor: BackfillCursor) { value = Mutex(cursor) }
}
