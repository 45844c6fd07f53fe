import Foundation
import Ledger
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

/// `relaysync ledger copy` from a real SQLite ledger (filled through the Ledger API) into a real
/// PostgreSQL 15 on 127.0.0.1 (the test process's shared server).
@Suite(.enabled(if: PostgresServer.isAvailable, "needs Debian's postgresql-15 (scripts/bootstrap installs it)"))
final class LedgerCopyCLITests: Sendable {
    let directory: URL
    let a: RelayURL = "ws://127.0.0.1:7001", b: RelayURL = "ws://127.0.0.1:7002", c: RelayURL = "ws://127.0.0.1:7003"
    let key = SecretKey.generate()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rs-pgcopy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var ledgerPath: String { directory.appendingPathComponent("ledger.sqlite").path }

    /// 35 notes from A owed to B and C, two versions of a profile, a deletion, a cursor, a
    /// reconciliation, a run, a relay error, a scope problem and an archive mark.
    func filledLedger() async throws -> Ledger {
        let ledger = try Ledger(path: ledgerPath)
        var events = try (0..<35).map { try key.sign(kind: 1, content: "note \($0)", tags: [], createdAt: 1_700_000_000 + Int64($0)) }
        events.append(try key.sign(kind: 0, content: "{}", tags: [], createdAt: 1_700_000_100))
        events.append(try key.sign(kind: 0, content: "{\"name\":\"x\"}", tags: [], createdAt: 1_700_000_200))
        events.append(try key.sign(kind: 5, content: "", tags: [["e", events[0].id]], createdAt: 1_700_000_300))
        _ = try await ledger.record(events.map { ObservedEvent(event: $0, relay: a) }, writableRelays: [a, b, c], now: 10)
        try ledger.setCursor(BackfillCursor(until: 1_700_000_000, complete: true, newestSeen: 1_700_000_300), relay: a, pubkeys: [key.publicKey])
        try ledger.recordReconciliation(
            ReconciliationRecord(
                relay: b, startedAt: 4, finishedAt: 5, method: .nip77, windows: 1, ledgerEvents: 38, relayEvents: 30,
                missingOnRelay: 8, missingInLedger: 0, fetched: 0, requeued: 8, lostAfterDelivery: 0, messages: 3, bytes: 100, error: nil))
        let run = try ledger.beginRun(mode: "once", at: 11)
        try ledger.endRun(run, at: 12, exitCode: 0, summaryJSON: "{}")
        try ledger.noteRelayError(c, "refused", at: 13)
        try ledger.noteScopeProblem(relay: a, scope: "authors", "auth-required", at: 14)
        try ledger.setArchivedThroughSeq(10)
        return ledger
    }

    func copy(_ to: String, _ extra: [String] = []) async throws -> CLIRun.Result {
        try await CLIRun.run(try AgentProcess.executable().path, ["ledger", "copy", "--from", ledgerPath, "--to", to] + extra, in: directory)
    }

    func destination() async throws -> (url: String, database: String) {
        let server = try await PostgresServer.shared()
        let database = try server.createDatabase()
        return (server.url(database: database), database)
    }

    @Test func anInterruptedCopyResumesVerifiesByCountsAndARerunCopiesNothing() async throws {
        let source = try await filledLedger()
        let (url, _) = try await destination()
        // Three batches of ten: the first thirty events, then stopped.
        let first = try await copy(url, ["--batch-size", "10", "--max-batches", "3"])
        #expect(first.status == 0 && first.stderr.isEmpty, "\(first.stderr)")
        #expect(first.stdout.contains("stopped after 3 batches (30 rows copied)"), "\(first.stdout)")
        let pg = try await PostgresLedger.open(try PostgresLedgerSettings.parse(url: url))
        #expect(try await pg.eventCount() == 30)

        let second = try await copy(url, ["--batch-size", "10"])
        #expect(second.status == 0 && second.stderr.isEmpty, "\(second.stderr)")
        for table in ["events", "replaceable_heads", "deliveries", "cursors", "relays", "runs", "scope_problems", "deleted_events", "reconciliations"] {
            let n = try source.rowCount(table: table)
            #expect(n > 0, "\(table)")
            #expect(
                second.stdout.contains("\n\(table): sqlite \(n), postgres \(n)\n") || second.stdout.hasPrefix("\(table): sqlite \(n), postgres \(n)\n"),
                "\(second.stdout)")
        }
        #expect(second.stdout.contains("archive mark: sqlite 10, postgres 10"))
        #expect(!second.stdout.contains("MISMATCH"))
        // The same events in the same order, owed to the same relays.
        let there = try await pg.events(afterSeq: 0, limit: 1_000)
        let here = try source.events(afterSeq: 0, limit: 1_000)
        #expect(there.map(\.seq) == here.map(\.seq))
        #expect(there.map(\.rawJSON) == here.map(\.rawJSON))
        #expect(
            try await pg.dueDeliveries(relay: b, limit: 1_000, now: 20).map(\.seq) == (try source.dueDeliveries(relay: b, limit: 1_000, now: 20)).map(\.seq))
        #expect(try await pg.cursors(relay: a, pubkeys: [key.publicKey]) == (try source.cursors(relay: a, pubkeys: [key.publicKey])))

        let third = try await copy(url)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("copied 0 rows in 0 batches"), "\(third.stdout)")
        // The agent on PostgreSQL goes on after the copied history: the next event's seq follows.
        let next = try key.sign(kind: 1, content: "after the copy", tags: [], createdAt: 1_700_001_000)
        let outcome = try await pg.record([ObservedEvent(event: next, relay: a)], writableRelays: [b], now: 30)
        #expect(outcome.first?.seq.map { $0 > here.last!.seq } == true)
        await pg.close()
    }

    @Test func aDestinationThatLostRowsFailsVerificationAndOneFromElsewhereIsRefused() async throws {
        _ = try await filledLedger()
        let (url, database) = try await destination()
        #expect(try await copy(url).status == 0)
        try (try await PostgresServer.shared()).psql("DELETE FROM cursors", database: database)
        let r = try await copy(url)
        #expect(r.status == 1)
        #expect(r.stdout.contains("cursors: sqlite 1, postgres 0  MISMATCH"), "\(r.stdout)")
        #expect(r.stderr.hasSuffix("counts differ for cursors: the destination is not a copy of \(ledgerPath)\n"), "\(r.stderr)")

        // A ledger agents already wrote to is not mixed with another history.
        let (used, _) = try await destination()
        let pg = try await PostgresLedger.open(try PostgresLedgerSettings.parse(url: used))
        _ = try await pg.record([ObservedEvent(event: try key.sign(kind: 1, content: "x", tags: [], createdAt: 5), relay: a)], writableRelays: [], now: 1)
        await pg.close()
        let refused = try await copy(used)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("already holds 1 events not copied from"), "\(refused.stderr)")
    }

    @Test func aLedgerHeldByARunningAgentIsRefusedNamingItsPID() async throws {
        _ = try await filledLedger()
        let lock = try LedgerLock.acquire(ledgerPath: ledgerPath)
        let r = try await copy("postgres://relaysync@127.0.0.1:1/none")
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("Error: ledger \(ledgerPath) is in use by another relaysync agent (PID \(getpid()))"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        withExtendedLifetime(lock) {}
    }

    @Test func mistakesAreOneLineNamingTheOption() async throws {
        let badURL = try await copy("http://127.0.0.1/x")
        #expect(badURL.status == 64)
        #expect(badURL.stderr == "Error: --to: not a postgres://USER@HOST:PORT/DATABASE URL\n")
        let noFile = try await copy("postgres://relaysync@127.0.0.1:1/none")
        #expect(noFile.status == 64)
        #expect(noFile.stderr == "Error: --from: \(ledgerPath): no such ledger file\n")
        _ = try Ledger(path: ledgerPath)
        let refused = try await copy("postgres://relaysync@127.0.0.1:1/none")
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("Error: --to: ledger postgres://relaysync@127.0.0.1:1/none: connection refused"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
    }
}
