import NostrCore

extension Filter {
    /// A REQ for no event (an id of zeros): every relay answers it at once with EOSE, which tells
    /// that it is alive and has read what came before it on the connection.
    static let matchingNothing = Filter(ids: [String(repeating: "0", count: 64)], limit: 1)
}
