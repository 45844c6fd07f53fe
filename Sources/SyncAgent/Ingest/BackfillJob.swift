import Ledger
import Logging
import NostrCore
import RelayClient
import Synchronization

/// Fetches all history of the configured authors from one readable relay,
/// resumable: each page moves the per-author cursor in the ledger, so a
/// restart continues where the last committed page ended. Authors with the
/// same cursor share one subscription.
struct BackfillJob: Sendable {
    let relay: Relay
    let authors: [String]
    let kinds: [Int]?
    let since: Int64?
    let ledger: Ledger
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
        /// Every author's history was walked from the newest event down in this run: the ledger
        /// now holds all the relay had (a comparison of sets right after would read it all again).
        var readWholeHistory = true
    }

    func run() async throws -> Result {
        let url = relay.url
        let cursors = try ledger.cursors(relay: url, pubkeys: authors)
        var groups: [BackfillCursor: [String]] = [:]
        for author in authors {
            groups[cursors[author] ?? BackfillCursor(until: nil, complete: false, newestSeen: nil), default: []].append(author)
        }
        var result = Result()
        for (cursor, members) in groups.sorted(by: { ($0.key.until ?? .max) > ($1.key.until ?? .max) }) {
            if cursor.until != nil || cursor.complete { result.readWholeHistory = false }
            for start in stride(from: 0, to: members.count, by: Self.authorsPerSubscription) {
                let chunk = Array(members[start..<min(start + Self.authorsPerSubscription, members.count)])
                result.events += try await backfill(chunk, from: cursor)
                result.groups += 1
            }
        }
        try ledger.noteRelaySuccess(url, at: WallClock.unixNow())
        return result
    }

    /// Catch up above the newest event seen (events published while we were
    /// away), then continue the descending history walk if it was unfinished.
    private func backfill(_ chunk: [String], from cursor: BackfillCursor) async throws -> Int {
        let state = CursorBox(cursor)
        var count = 0
        if catchUp, let newest = cursor.newestSeen {
            let filter = Filter(authors: chunk, kinds: kinds, since: max(since ?? 0, newest - Self.catchUpOverlap))
            count += try await fetch(filter, chunk: chunk, state: state, movesUntil: false)
        }
        if !cursor.complete {
            let filter = Filter(authors: chunk, kinds: kinds, since: since, until: cursor.until)
            count += try await fetch(filter, chunk: chunk, state: state, movesUntil: true)
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
            try ledger.setCursor(updated, relay: url, pubkeys: chunk)
        }
        if movesUntil {
            let done = state.value.withLock { c -> BackfillCursor in
                c.complete = true; return c
            }
            try ledger.setCursor(done, relay: url, pubkeys: chunk)
        }
        logger.debug("backfill pass finished", metadata: ["relay.url": "\(url)", "events": "\(summary.events)", "authors": "\(chunk.count)"])
        return summary.events
    }
}

/// The cursor a backfill pass moves, shared with the page callback.
final class CursorBox: Sendable {
    let value: Mutex<BackfillCursor>
    init(_ cursor: BackfillCursor) { value = Mutex(cursor) }
}
