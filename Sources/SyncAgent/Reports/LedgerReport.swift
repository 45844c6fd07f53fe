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
    public static func make(configuration: SyncConfiguration) throws -> Self {
        try make(configuration: configuration, ledger: try Ledger(path: configuration.ledgerPath.path))
    }
}

extension StatusReport: LedgerReport {}
extension RelaysReport: LedgerReport {}
