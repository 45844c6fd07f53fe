import CSecp256k1
import Synchronization

/// BIP-340 Schnorr signatures over libsecp256k1. One context serves every
/// thread: libsecp256k1 documents contexts as safe for concurrent use by
/// functions that take them `const`, which verify and sign do.
public enum Schnorr {
    final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() {
            // SECP256K1_CONTEXT_NONE: since 0.2.0 one context both signs and verifies.
            pointer = secp256k1_context_create(UInt32(1))!
            var seed = [UInt8](repeating: 0, count: 32)
            var rng = SystemRandomNumberGenerator()
            for i in 0..<32 { seed[i] = rng.next() }
            // Blinding against side channels while signing.
            _ = secp256k1_context_randomize(pointer, seed)
        }
    }

    static let context = Context()

    /// Parsed x-only keys by author: parsing costs about a tenth of a verify.
    static let keyCache = Mutex<[String: secp256k1_xonly_pubkey]>([:])
    static let keyCacheLimit = 50_000

    /// Verifies a 64-byte signature of `message` by a 32-byte x-only key.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        var key = secp256k1_xonly_pubkey()
        guard secp256k1_xonly_pubkey_parse(context.pointer, &key, publicKey) == 1 else { return false }
        return secp256k1_schnorrsig_verify(context.pointer, signature, message, message.count, &key) == 1
    }

    /// Verifies against a hex pubkey, parsing each distinct key once.
    static func verify(signature: [UInt8], digest: [UInt8], publicKeyHex: String) -> Bool {
        guard signature.count == 64 else { return false }
        var key: secp256k1_xonly_pubkey
        if let cached = keyCache.withLock({ $0[publicKeyHex] }) {
            key = cached
        } else {
            guard let raw = Hex.decode(publicKeyHex), raw.count == 32 else { return false }
            key = secp256k1_xonly_pubkey()
            guard secp256k1_xonly_pubkey_parse(context.pointer, &key, raw) == 1 else { return false }
            let parsed = key
            keyCache.withLock { cache in
                if cache.count >= keyCacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[publicKeyHex] = parsed
            }
        }
        return secp256k1_schnorrsig_verify(context.pointer, signature, digest, digest.count, &key) == 1
    }

    /// Signs a 32-byte message. `auxRand` defaults to fresh randomness, as BIP-340 recommends.
    public static func sign(message32: [UInt8], secretKey: [UInt8], auxRand: [UInt8]? = nil) throws(KeyError) -> [UInt8] {
        guard message32.count == 32 else { throw KeyError.invalidLength(message32.count) }
        var keypair = secp256k1_keypair()
        guard secretKey.count == 32, secp256k1_keypair_create(context.pointer, &keypair, secretKey) == 1 else {
            throw KeyError.invalidSecretKey
        }
        let aux = auxRand ?? randomBytes(32)
        var sig = [UInt8](repeating: 0, count: 64)
        guard secp256k1_schnorrsig_sign32(context.pointer, &sig, message32, &keypair, aux) == 1 else {
            throw KeyError.invalidSecretKey
        }
        return sig
    }

    /// The 32-byte x-only public key of a secret key.
    public static func xOnlyPublicKey(secretKey: [UInt8]) throws(KeyError) -> [UInt8] {
        var keypair = secp256k1_keypair()
        guard secretKey.count == 32, secp256k1_keypair_create(context.pointer, &keypair, secretKey) == 1 else {
            throw KeyError.invalidSecretKey
        }
        var xonly = secp256k1_xonly_pubkey()
        var parity: Int32 = 0
        _ = secp256k1_keypair_xonly_pub(context.pointer, &xonly, &parity, &keypair)
        var out = [UInt8](repeating: 0, count: 32)
        _ = secp256k1_xonly_pubkey_serialize(context.pointer, &out, &xonly)
        return out
    }

    /// True when the 32 bytes are a valid secret key (non-zero, below the curve order).
    public static func isValidSecretKey(_ bytes: [UInt8]) -> Bool {
        bytes.count == 32 && secp256k1_ec_seckey_verify(context.pointer, bytes) == 1
    }

    static func randomBytes(_ n: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<n).map { _ in rng.next() }
    }
}
