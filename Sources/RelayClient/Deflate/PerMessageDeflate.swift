/// permessage-deflate (RFC 7692) as this client speaks it: offered with `client_max_window_bits`,
/// shaped by the relay's answer. Inbound messages are inflated whole once assembled; outbound
/// texts are deflated one message at a time (`Deflater`, `Inflater`).
struct PerMessageDeflate: Sendable, Equatable {
    /// What the client sends in `Sec-WebSocket-Extensions`.
    static let offer = "permessage-deflate; client_max_window_bits"

    /// The relay resets its compressor after every message.
    var serverNoContextTakeover = false
    /// This client must reset its compressor after every message.
    var clientNoContextTakeover = false
    /// The largest window this client may compress with. zlib cannot make raw deflate streams
    /// with a 256-byte window, so at 8 this client sends uncompressed messages (RFC 7692 lets it).
    var clientMaxWindowBits = 15

    /// The relay's answer broke RFC 7692 §7.1 or RFC 6455 §9.1; the connection must fail.
    struct Refusal: Error, Sendable, CustomStringConvertible, Equatable {
        fileprivate enum Kind: Sendable, Equatable {
            case neverOffered(String)
            case acceptedTwice
            case givenTwice(String)
            case serverWindowBits(String)
            case clientWindowBits(String)
            case unknownParameter(String)
        }

        fileprivate let kind: Kind

        var description: String {
            let why =
                switch kind {
                case let .neverOffered(name): "\(name) was never offered"
                case .acceptedTwice: "permessage-deflate accepted twice"
                case let .givenTwice(key): "\(key) given twice"
                case let .serverWindowBits(bits): "server_max_window_bits=\(bits)"
                case let .clientWindowBits(bits): "client_max_window_bits=\(bits)"
                case let .unknownParameter(parameter): "unknown parameter \(parameter)"
                }
            return "unacceptable Sec-WebSocket-Extensions answer: \(why)"
        }
    }

    /// The parameters in the relay's `Sec-WebSocket-Extensions` header values; nil when it
    /// accepted no extension.
    static func negotiate(_ values: [String]) throws(Refusal) -> PerMessageDeflate? {
        var result: PerMessageDeflate?
        for element in values.flatMap({ $0.split(separator: ",") }) {
            let parts = element.split(separator: ";").map { $0.trimmingSpaces }
            guard let name = parts.first, !name.isEmpty else { continue }
            guard name.lowercased() == "permessage-deflate" else { throw Refusal(kind: .neverOffered(String(name))) }
            guard result == nil else { throw Refusal(kind: .acceptedTwice) }
            var deflate = PerMessageDeflate()
            var seen: Set<String> = []
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
                let key = pair[0].lowercased()
                let value = pair.count > 1 ? pair[1].trimmingCharacters(in: "\"") : nil
                guard seen.insert(key).inserted else { throw Refusal(kind: .givenTwice(String(key))) }
                switch (key, value) {
                case ("server_no_context_takeover", nil): deflate.serverNoContextTakeover = true
                case ("client_no_context_takeover", nil): deflate.clientNoContextTakeover = true
                case let ("server_max_window_bits", bits?):
                    // Inflating with the largest window reads any smaller one.
                    guard Self.windowBits(bits) != nil else { throw Refusal(kind: .serverWindowBits(String(describing: bits))) }
                case let ("client_max_window_bits", bits?):
                    guard let n = Self.windowBits(bits) else { throw Refusal(kind: .clientWindowBits(String(describing: bits))) }
                    deflate.clientMaxWindowBits = n
                default:
                    throw Refusal(kind: .unknownParameter(String(parameter)))
                }
            }
            result = deflate
        }
        return result
    }

    /// Whether this client compresses what it sends.
    var compressesOutbound: Bool { clientMaxWindowBits >= 9 }

    private static func windowBits(_ text: String) -> Int? {
        guard let n = Int(text), (8...15).contains(n) else { return nil }
        return n
    }
}

private extension Substring {
    var trimmingSpaces: String { String(trimmingCharacters(in: " \t")) }

    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return s
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String { String(Substring(self).trimmingCharacters(in: set)) }
}
