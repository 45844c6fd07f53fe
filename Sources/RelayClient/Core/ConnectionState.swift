/// Where a relay connection is in its life.
public enum ConnectionState: String, Sendable, Codable, Equatable {
    case disconnected, connecting, connected, authenticating, backingOff, terminated

    public var isOpen: Bool { self == .connected || self == .authenticating }
}
