import Foundation
import Ledger
import LedgerPostgres
import NostrCore
import PeerHarness
import Testing

/// The two ledgers the behavioural suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// What the suite reads besides the agent's interfaces.
protocol InspectableStore: LedgerStore, DiscoveryStore, ScopeIndexStore {
    func presence(of event: Event) async throws -> [RelayURL: DeliveryState]
}

extension Ledger: InspectableStore {}
extension PostgresLedger: InspectableStore {}

/// A fresh store of `kind`: a temporary SQLite file, or a new database on the test process's
/// PostgreSQL server. `body` runs with it; the PostgreSQL pool is closed afterwards.
func withStore<T>(_ kind: StoreKind, _ body: (any InspectableStore) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite:
        return try await body(try Ledger.temporary())
    case .postgres:
        let ledger = try await openPostgresLedger()
        do {
            let result = try await body(ledger)
            await ledger.close()
            return result
        } catch {
            await ledger.close()
            throw error
        }
    }
}

/// A PostgresLedger on a new database of the shared test server.
func openPostgresLedger() async throws -> PostgresLedger {
    let server = try await PostgresServer.shared()
    let database = try server.createDatabase()
    return try await PostgresLedger.open(try PostgresLedgerSettings.parse(url: server.url(database: database)))
}

let postgresAvailable = PostgresServer.isAvailable
