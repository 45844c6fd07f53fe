/// A signing key. Its description never shows the key, so logging one by
/// mistake leaks nothing.
public struct SecretKey: Sendable, CustomStringConvertible {
    let bytes: [UInt8]
    /// The x-only public key, lowercase hex.
    public let publicKey: String

    public init(bytes: [UInt8]) throws(KeyError) {
        guard Schnorr.isValidSecretKey(bytes) else { throw .invalidSecretKey }
        self.bytes = bytes
        self.publicKey = Hex.encode(try Schnorr.xOnlyPublicKey(secretKey: bytes))
    }

    /// Accepts 64 hex characters or an `nsec1…` string (surrounding white space ignored).
    public init(parsing text: String) throws(KeyError) {
        let t = text.trimmingWhitespace()
        if t.hasPrefix("nsec1") {
            guard case let .nsec(raw)? = try? NIP19.decode(t) else { throw .invalidEncoding("not a valid nsec") }
            try self.init(bytes: raw)
        } else {
            guard t.utf8.count == 64, let raw = Hex.decode(t) else { throw .invalidEncoding("expected 64 hex characters or nsec1…") }
            try self.init(bytes: raw)
        }
    }

    public static func generate() -> SecretKey {
        while true {
            if let key = try? SecretKey(bytes: Schnorr.randomBytes(32)) { return key }
        }
    }

    public var nsec: String { NIP19.encode(.nsec(bytes)) }
    public var hex: String { Hex.encode(bytes) }
    public var description: String { "SecretKey(pubkey: \(publicKey))" }

    /// Builds and signs an event with this key.
    public func sign(kind: Int, content: String, tags: [[String]] = [], createdAt: Int64) throws(KeyError) -> Event {
        let preimage = CanonicalJSON.idPreimage(pubkey: publicKey, createdAt: createdAt, kind: kind, tags: tags, content: content)
        let digest = SHA256Digest.of(preimage)
        let sig = try Schnorr.sign(message32: digest, secretKey: bytes)
        return Event(id: Hex.encode(digest), pubkey: publicKey, createdAt: createdAt, kind: kind, tags: tags, content: content, sig: Hex.encode(sig))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
