/// A filter that cannot be read, naming the offending key.
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String?
    public var reason: String

    public var description: String {
        key.map { "filter key \($0): \(reason)" } ?? "filter: \(reason)"
    }
}
