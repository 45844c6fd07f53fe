/// The outcome of checking an event: a bad id and a bad signature are told
/// apart because they mean different things (a mangled event vs a forgery).
public enum EventVerification: Sendable, Equatable {
    case valid
    case badID(computed: String)
    case badSignature

    public var isValid: Bool { self == .valid }

    public var reason: String {
        switch self {
        case .valid: "valid"
        case let .badID(computed): "id does not match content (computed \(computed))"
        case .badSignature: "signature does not verify"
        }
    }
}

extension Event {
    /// Checks the id against the canonical serialization, then the signature.
    public func verify() -> EventVerification {
        verify(signatureKnownValid: { _, _ in false })
    }

    /// The same, but takes the signature as valid when `signatureKnownValid(id, sig)`: a
    /// signature covers only the id, and the id (checked here) covers the pubkey, so the same id
    /// and signature verify the same way again.
    public func verify(signatureKnownValid: (_ id: String, _ sig: String) -> Bool) -> EventVerification {
        let digest = SHA256Digest.of(canonicalSerialization)
        guard let idBytes = Hex.decode(id), idBytes == digest else {
            return .badID(computed: Hex.encode(digest))
        }
        if signatureKnownValid(id, sig) { return .valid }
        guard let sigBytes = Hex.decode(sig),
            Schnorr.verify(signature: sigBytes, digest: digest, publicKeyHex: pubkey)
        else { return .badSignature }
        return .valid
    }
}
