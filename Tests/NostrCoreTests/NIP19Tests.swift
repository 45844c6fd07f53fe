import Foundation
import Testing

@testable import NostrCore

/// Examples from NIP-19's own text, and round trips.
@Suite struct NIP19Tests {
    @Test func examplesFromTheNIP() throws {
        #expect(
            try NIP19.decode("npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg")
                == .npub("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"))
        #expect(
            try NIP19.decode("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5")
                == .nsec(Hex.decode("67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa")!))
        #expect(
            try NIP19.decode(
                "nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p")
                == .nprofile(pubkey: "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d", relays: ["wss://r.x.com", "wss://djbas.sadkb.com"]))
        #expect(
            NIP19.encode(.npub("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"))
                == "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg")
    }

    @Test func nsecGivesTheMatchingKey() throws {
        let key = try SecretKey(parsing: "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5")
        #expect(key.hex == "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa")
        #expect(try SecretKey(parsing: key.nsec).publicKey == key.publicKey)
    }

    @Test func roundTrips() throws {
        let pk = SecretKey.generate().publicKey, id = String(repeating: "ab", count: 32)
        let entities: [NIP19] = [
            .npub(pk), .note(id),
            .nprofile(pubkey: pk, relays: ["wss://a.example", "ws://127.0.0.1:7000"]),
            .nevent(id: id, relays: ["wss://a"], author: pk, kind: 1),
            .nevent(id: id, relays: [], author: nil, kind: nil),
            .naddr(identifier: "my-article ✓", pubkey: pk, kind: 30023, relays: ["wss://b"]),
        ]
        for e in entities {
            #expect(try NIP19.decode(NIP19.encode(e)) == e)
        }
    }

    @Test func errorsAreTyped() {
        let good = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
        #expect(throws: NIP19Error.badChecksum) { try NIP19.decode(String(good.dropLast()) + "q") }
        #expect(throws: NIP19Error.mixedCase) { try NIP19.decode("npub10ELFcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg") }
        #expect(throws: NIP19Error.invalidCharacter) { try NIP19.decode("npub1bbbbbbbbbbbbbbbbbb") }
        #expect(throws: NIP19Error.unknownPrefix("nfoo")) { try NIP19.decode(Bech32.encode(hrp: "nfoo", data: [1, 2, 3])) }
        #expect(throws: NIP19Error.badLength(expected: 32, got: 3)) { try NIP19.decode(Bech32.encode(hrp: "npub", data: [1, 2, 3])) }
        #expect(throws: (any Error).self) { try NIP19.pubkeyHex("note1" + String(good.dropFirst(5))) }
    }

    /// A hex key one character short (or long) is said to be so, not read as a broken npub.
    @Test func hexOfTheWrongLengthIsAHexError() throws {
        let hex = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"
        #expect(throws: NIP19Error.badHexLength(63)) { try NIP19.pubkeyHex(String(hex.dropLast())) }
        #expect(throws: NIP19Error.badHexLength(65)) { try NIP19.pubkeyHex(hex + "0") }
        #expect(NIP19Error.badHexLength(63).description == "63 hex characters, 64 expected")
        #expect(try NIP19.pubkeyHex(" \(hex.uppercased())\n") == hex)
        #expect(try NIP19.pubkeyHex(NIP19.encode(.npub(hex))) == hex)
    }
}
