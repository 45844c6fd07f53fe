import Foundation
import Testing

@testable import NostrCore

/// BIP-340 vectors. `bip340-test-vectors.csv` is the copy from ../shared/vectors: it is the
/// superseded draft of BIP-340 (R with a square Y, "has_square_y" in its comments), whose valid
/// signatures are invalid under the final BIP-340 that libsecp256k1 and every Nostr client
/// implement. `bip340-current-vectors.csv` holds the final vectors 0-4 (valid ones), each
/// cross-checked with coincurve (libsecp256k1's Python binding) when it was written.
@Suite struct BIP340VectorTests {
    struct Row: CustomStringConvertible {
        let index: String, secretKey: String, publicKey: String, auxRand: String, message: String, signature: String, expected: Bool, comment: String
        var description: String { "vector \(index) \(comment)" }
    }

    static func rows(_ file: String = "bip340-current-vectors.csv") throws -> [Row] {
        try Fixtures.text(file).split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Row(
                index: f[0], secretKey: f[1], publicKey: f[2], auxRand: f[3], message: f[4], signature: f[5],
                expected: f[6] == "TRUE", comment: f.count > 7 ? f[7...].joined(separator: ",") : "")
        }
    }

    @Test func currentValidVectorsVerify() throws {
        let rows = try Self.rows()
        #expect(rows.count == 5)
        for row in rows {
            let ok = Schnorr.verify(signature: Hex.decode(row.signature)!, message: Hex.decode(row.message)!, publicKey: Hex.decode(row.publicKey)!)
            #expect(ok == row.expected, "\(row)")
        }
    }

    @Test func rowsWithASecretKeySignExactly() throws {
        var signed = 0
        for row in try Self.rows() where !row.secretKey.isEmpty {
            let sk = Hex.decode(row.secretKey)!
            #expect(try Schnorr.xOnlyPublicKey(secretKey: sk) == Hex.decode(row.publicKey)!, "\(row)")
            let sig = try Schnorr.sign(message32: Hex.decode(row.message)!, secretKey: sk, auxRand: Hex.decode(row.auxRand)!)
            #expect(sig == Hex.decode(row.signature)!, "\(row)")
            signed += 1
        }
        #expect(signed == 4)
    }

    @Test func draftVectorsInvalidRowsAreRejected() throws {
        let rows = try Self.rows("bip340-test-vectors.csv")
        #expect(rows.count == 15)
        for row in rows where !row.expected {
            #expect(!Schnorr.verify(signature: Hex.decode(row.signature)!, message: Hex.decode(row.message)!, publicKey: Hex.decode(row.publicKey)!), "\(row)")
        }
    }

    @Test func draftVectorsValidRowsAreDraftOnly() throws {
        // Same keys and messages as the final vectors, different (draft-rule) signatures.
        let draft = try Self.rows("bip340-test-vectors.csv").filter(\.expected)
        let current = try Self.rows()
        for (d, c) in zip(draft, current) {
            #expect(d.publicKey == c.publicKey && d.message == c.message)
            #expect(d.signature != c.signature)
            #expect(!Schnorr.verify(signature: Hex.decode(d.signature)!, message: Hex.decode(d.message)!, publicKey: Hex.decode(d.publicKey)!), "\(d)")
            if !d.secretKey.isEmpty { #expect(try Schnorr.xOnlyPublicKey(secretKey: Hex.decode(d.secretKey)!) == Hex.decode(d.publicKey)!) }
        }
    }

    @Test func freshSignaturesVerifyAndDiffer() throws {
        let key = SecretKey.generate()
        let a = try key.sign(kind: 1, content: "same", createdAt: 1)
        let b = try key.sign(kind: 1, content: "same", createdAt: 1)
        #expect(a.id == b.id)
        #expect(a.sig != b.sig, "aux randomness must be fresh per signature")
        #expect(a.verify() == .valid && b.verify() == .valid)
    }
}
