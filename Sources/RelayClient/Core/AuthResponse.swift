import Foundation
import NostrCore

/// The NIP-42 answer to a relay's AUTH challenge: a kind 22242 event naming the relay and the
/// challenge, signed now with one of the connection's keys.
enum AuthResponse {
    static func event(answering challenge: String, relay url: RelayURL, key: SecretKey, now: Date = Date()) throws -> Event {
        try key.sign(
            kind: Kind.clientAuthentication, content: "", tags: [["relay", url.normalized], ["challenge", challenge]],
            createdAt: Int64(now.timeIntervalSince1970))
    }
}
