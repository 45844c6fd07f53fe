import RelayClient

/// The content strategy: what a relay's NIP-11 document says it will not
/// serve or take, so the agent skips it for that work and can say why,
/// instead of learning the same refusal from every event.
public struct RelayContentPolicy: Sendable, Equatable {
    public let information: RelayInformation?
    /// Whether the agent holds a key to answer AUTH on this relay.
    public let hasKey: Bool

    public init(information: RelayInformation?, hasKey: Bool) {
        self.information = information
        self.hasKey = hasKey
    }

    /// Why reading this relay is pointless, or nil. Paid relays gate every
    /// action (NIP-11); with a key the agent tries, as the user may have paid.
    public var readSkipReason: String? {
        guard let l = information?.limitation, !hasKey else { return nil }
        if l.authRequired == true { return "NIP-11 auth_required and no key configured" }
        if l.paymentRequired == true { return "NIP-11 payment_required and no key configured" }
        return nil
    }

    /// Why an event of `kind` will not be taken, or nil.
    public func refusal(kind: Int) -> String? {
        guard let information else { return nil }
        if information.refuses(kind: kind) { return "skipped: NIP-11 retention keeps no kind \(kind)" }
        return nil
    }

    /// Warnings worth showing for a relay used as a backup.
    public var writeNotes: [String] {
        guard let info = information else { return [] }
        var notes: [String] = []
        if info.limitation.paymentRequired == true { notes.append("NIP-11 payment_required") }
        if info.limitation.restrictedWrites == true { notes.append("NIP-11 restricted_writes") }
        if info.limitation.authRequired == true && !hasKey { notes.append("NIP-11 auth_required and no key configured") }
        if !info.refusedKinds.isEmpty {
            notes.append(
                "NIP-11 retention refuses kinds "
                    + info.refusedKinds.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))
        }
        return notes
    }
}
