import Foundation
import Ledger
import LedgerPostgres

extension SyncAgentRunner {
    /// The SQLite ledger, for what only it keeps yet (media); nil on a PostgreSQL ledger.
    var sqlite: Ledger? { ledger as? Ledger }

    /// What the PostgreSQL ledger does not serve, refused at start in one line rather than failing
    /// later: media. Its blobs live in one machine's folder, which the agents of a cluster do not
    /// share, so the ledger's "kept" would be true on one machine only.
    static func refuseWhatPostgresLacks(_ configuration: SyncConfiguration) throws(ConfigError) {
        guard configuration.media != nil else { return }
        throw ConfigError(
            key: "media",
            reason:
                "not available on a PostgreSQL ledger: the blob store is this machine's folder, which a cluster's agents do not share; back media up with an agent on a SQLite ledger, or leave media out"
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
