import Foundation
import Ledger

/// A report read from the config and the ledger, printed as text or JSON. The executable asks
/// for it by configuration alone: opening the ledger is SyncAgent's business.
public protocol LedgerReport {
    static func make(configuration: SyncConfiguration, ledger: Ledger) throws -> Self
    var json: String { get }
    var text: String { get }
}

extension LedgerReport {
    /// Reads the configured ledger. Before the first run there is none, and asking for a report
    /// must not create one (nor its folder): the report then reads an empty ledger that goes away
    /// with it.
    public static func make(configuration: SyncConfiguration) throws -> Self {
        let path = configuration.ledgerPath.path
        let ledger = FileManager.default.fileExists(atPath: path) ? try Ledger(path: path) : try Ledger.temporary()
        return try make(configuration: configuration, ledger: ledger)
    }
}

extension StatusReport: LedgerReport {}
extension RelaysReport: LedgerReport {}
