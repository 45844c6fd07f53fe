import NostrCore

/// What one committed record transaction changed in the deliveries, handed to the daemon's
/// delivery loops (`Ledger.handOffFreshDeliveries`) so that a live note is published without
/// reading back the rows the writer has just written. The ledger stays the truth: a loop that
/// is behind, restarted or told `unsettled` reads it again.
public struct FreshDeliveries: Sendable {
    /// Per relay, the rows this transaction made pending (attempts 0, due now), in seq order.
    public var due: [RelayURL: [PendingDelivery]] = [:]
    /// Per relay, seqs that stopped being pending (superseded, or seen on that relay).
    public var withdrawn: [RelayURL: [Int64]] = [:]
    /// The transaction changed deliveries in a way the lists above do not say (a request to
    /// vanish recorded): read the ledger.
    public var unsettled = false

    public init() {}

    /// Who is told (`Ledger.handOffFreshDeliveries`).
    final class Listener: Sendable {
        let tell: @Sendable (FreshDeliveries) -> Void
        init(_ tell: @escaping @Sendable (FreshDeliveries) -> Void) { self.tell = tell }
    }

    var isEmpty: Bool { due.isEmpty && withdrawn.isEmpty && !unsettled }

    mutating func made(_ seq: Int64, pendingFor relay: RelayURL, event e: Event) {
        due[relay, default: []].append(PendingDelivery(seq: seq, eventID: e.id, kind: e.kind, relay: relay, rawJSON: e.rawJSON, attempts: 0))
    }

    mutating func withdrew(_ seq: Int64, for relay: RelayURL) {
        withdrawn[relay, default: []].append(seq)
    }
}
