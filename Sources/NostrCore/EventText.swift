/// An event's JSON text as kept: the `String` it arrived as, or UTF-8 bytes read back from a
/// ledger, which need no `String` made (and validated) of them. Either is copied once, into a
/// frame or a file; neither is converted to the other on the way.
public enum EventText: Sendable, Equatable {
    case string(String)
    case bytes([UInt8])

    public var utf8Count: Int {
        switch self {
        case .string(let s): s.utf8.count
        case .bytes(let b): b.count
        }
    }

    public var string: String {
        switch self {
        case .string(let s): s
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        }
    }

    /// Calls `body` with the text's UTF-8 bytes, in place when they are contiguous.
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        switch self {
        case .string(var s): try s.withUTF8(body)
        case .bytes(let b): try b.withUnsafeBufferPointer(body)
        }
    }

    /// The same text, whichever form each side keeps.
    public static func == (a: EventText, b: EventText) -> Bool {
        a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }
}
