import Foundation
import Ledger
import SyncAgent

/// A report read from the config and the ledger, printed as text or JSON.
protocol LedgerReport {
    static func make(configuration: SyncConfiguration, ledger: Ledger) throws -> Self
    var json: String { get }
    var text: String { get }
}

extension StatusReport: LedgerReport {}
extension RelaysReport: LedgerReport {}

extension ConfigOptions {
    func printReport<R: LedgerReport>(_ report: R.Type, json: Bool) throws {
        let configuration = try load()
        let made = try R.make(configuration: configuration, ledger: try Ledger(path: configuration.ledgerPath.path))
        print(json ? made.json : made.text)
    }
}
