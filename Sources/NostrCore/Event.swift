import Crypto

/// A Nostr event (NIP-01). `rawJSON` is the exact object text it was parsed
/// from, so that archives keep what the relay sent and re-verification is
/// byte-for-byte; for events built here it is their compact serialization.
public struct Event: Sendable, Hashable, CustomStringConvertible {
    public let id: String
    public let pubkey: String
    public let createdAt: Int64
    public let kind: Int
    public let tags: [[String]]
    public let content: String
    public let sig: String
    public let rawJSON: String

    /// Kinds are 16-bit in NIP-01.
    public static let kindRange = 0...65535

    public init(id: String, pubkey: String, createdAt: Int64, kind: Int, tags: [[String]], content: String, sig: String, rawJSON: String? = nil) {
        self.id = id
        self.pubkey = pubkey
        self.createdAt = createdAt
        self.kind = kind
        self.tags = tags
        self.content = content
        self.sig = sig
        self.rawJSON = rawJSON ?? Event.serializeObject(id: id, pubkey: pubkey, createdAt: createdAt, kind: kind, tags: tags, content: content, sig: sig)
    }

    public var description: String { "event \(id) kind \(kind) by \(pubkey.prefix(12))… at \(createdAt)" }

    /// Parses one event object; the error names the field and what is wrong.
    public init(json: String) throws(EventParseError) {
        self = try withUTF8Bytes(json) { (buf: UnsafeBufferPointer<UInt8>) throws(EventParseError) in
            var scanner = JSONScanner(buf)
            let event = try EventParser.parse(&scanner)
            do throws(JSONError) { try scanner.expectEnd() } catch { throw EventParseError(field: nil, reason: error.description) }
            return event
        }
    }

    public var canonicalSerialization: [UInt8] {
        CanonicalJSON.idPreimage(pubkey: pubkey, createdAt: createdAt, kind: kind, tags: tags, content: content)
    }

    /// The id the content says this event should have.
    public var computedID: String {
        Hex.encode(SHA256Digest.of(canonicalSerialization))
    }

    /// Compact object serialization in NIP-01 key order.
    public static func serializeObject(id: String, pubkey: String, createdAt: Int64, kind: Int, tags: [[String]], content: String, sig: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(320 + content.utf8.count)
        out.append(contentsOf: "{\"id\":\"".utf8)
        out.append(contentsOf: id.utf8)
        out.append(contentsOf: "\",\"pubkey\":\"".utf8)
        out.append(contentsOf: pubkey.utf8)
        out.append(contentsOf: "\",\"created_at\":".utf8)
        out.append(contentsOf: String(createdAt).utf8)
        out.append(contentsOf: ",\"kind\":".utf8)
        out.append(contentsOf: String(kind).utf8)
        out.append(contentsOf: ",\"tags\":".utf8)
        CanonicalJSON.appendTags(tags, to: &out)
        out.append(contentsOf: ",\"content\":".utf8)
        CanonicalJSON.appendString(content, to: &out)
        out.append(contentsOf: ",\"sig\":\"".utf8)
        out.append(contentsOf: sig.utf8)
        out.append(contentsOf: "\"}".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
