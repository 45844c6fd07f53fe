import Foundation
import Ledger
import LedgerPostgres

extension SyncAgentRunner {
    /// The SQLite ledger, for what only it keeps yet (media); nil on a PostgreSQL ledger.
    var sqlite: Ledger? { ledger as? Ledger }

    /// What the PostgreSQL ledger does not hold yet, refused at start in one line rather than
    /// failing later: media (its blob tables).
    static func refuseWhatPostgresLacks(_ configuration: SyncConfiguration) throws(ConfigError) {
        let unsupported = [
            configuration.media != nil ? "media" : nil
        ].compactMap { $0 }
        guard let first = unsupported.first else { return }
        throw ConfigError(
            key: first,
            reason:
                "not available on a PostgreSQL ledger in this version (\(unsupported.joined(separator: ", ")) need the SQLite ledger): use a SQLite ledger or leave it out"
        )
    }
}

extension SyncAgentRunner {
    /// Whether the ledger takes a write now: SQLite's write lock taken and let go; on PostgreSQL a
    /// round trip (`/healthz`).
    func probeWritable() async throws {
        if let sqlite {
            try sqlite.probeWritable()
        } else {
            _ = try await ledger.eventCount()
        }
    }
}

extension SyncAgentRunner {
    /// Closes a PostgreSQL ledger's connections (the SQLite ledger closes with the runner).
    public func closeLedger() async {
        await (ledger as? PostgresLedger)?.close()
    }
}
