/// What became of one batch of a restore, folded into the report when the batch is done.
struct RestoreBatchResult: Sendable {
    var accepted = 0
    var duplicate = 0
    var rejected: [String: RestoreReport.Bucket] = [:]
    var failed: [String: RestoreReport.Bucket] = [:]
    /// Ids the relay now holds (accepted or duplicate): these go to the journal.
    var done: [String] = []

    func apply(to report: inout RestoreReport) {
        report.accepted += accepted
        report.duplicate += duplicate
        report.rejected.merge(rejected) { $0.merged($1) }
        report.failed.merge(failed) { $0.merged($1) }
    }
}
