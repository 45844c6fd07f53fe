import Ledger
import Logging
import NostrCore
import PostgresNIO

/// The three queries of one reconciliation window: the first `maxItems` (created_at, id) from the
/// lower bound on; the ids of the rest of the last second; whether anything later remains.
struct WindowQueries {
    let first: PostgresQuery
    let rest: (_ second: Int64, _ afterID: String) -> PostgresQuery
    let more: (_ second: Int64) -> PostgresQuery
}

extension PostgresConnection {
    /// One window, whole seconds (as `Ledger.reconcileItems`): once `maxItems` are read the window
    /// ends with its second, so a window never splits one created_at; `upper` is that second when
    /// later events remain, else nil.
    func window(_ q: WindowQueries, maxItems: Int, logger: Logger) async throws -> (items: [LedgerItem], upper: Int64?) {
        var items: [LedgerItem] = []
        for try await (createdAt, id) in try await query(q.first, logger: logger).decode((Int64, String).self) {
            if let key = Bytes32(hex: id) { items.append(LedgerItem(createdAt: createdAt, id: key)) }
        }
        guard items.count >= maxItems, let last = items.last else { return (items, nil) }
        for try await id in try await query(q.rest(last.createdAt, last.id.hex), logger: logger).decode(String.self) {
            if let key = Bytes32(hex: id) { items.append(LedgerItem(createdAt: last.createdAt, id: key)) }
        }
        let more = try await query(q.more(last.createdAt), logger: logger).decode(Bool.self).all().first ?? false
        return (items, more ? last.createdAt : nil)
    }
}
