/// What identifies an archived event in the ledger: its id and `created_at`
/// (the ledger's unique key), so a restart can find where the archive ends.
public struct ArchivedEventKey: Sendable, Hashable {
    public let id: String
    public let createdAt: Int64

    public init(id: String, createdAt: Int64) {
        self.id = id
        self.createdAt = createdAt
    }
}
