import SyncAgent

extension ConfigOptions {
    func printReport<R: LedgerReport>(_ report: R.Type, json: Bool) throws {
        let made = try R.make(configuration: try load())
        print(json ? made.json : made.text)
    }
}
