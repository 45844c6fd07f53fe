/// A NIP-17 DM relay list (kind 10050): where a user wants private messages delivered, one
/// `relay` tag each.
public struct DirectMessageRelays: Sendable, Equatable {
    public var relays: [String]

    public init(relays: [String]) { self.relays = relays }

    /// nil when `event` is not a kind-10050 event.
    public init?(event: Event) {
        guard event.kind == Kind.dmRelayList else { return nil }
        var relays: [String] = []
        for tag in event.tags where tag.count >= 2 && tag[0] == "relay" && !relays.contains(tag[1]) { relays.append(tag[1]) }
        self.init(relays: relays)
    }
}
