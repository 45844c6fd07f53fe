import Foundation
import NostrCore

/// Signs Blossom authorization events (kind 24242: `t` the verb, `x` the blob, `expiration`) with
/// the configured key. They are sent only to the configured backup servers.
public struct BlossomAuthorizer: Sendable {
    public static let kind = Kind.blossomAuthorization
    let key: SecretKey
    /// How long a signed authorization stays valid.
    var lifetime: Int64 = 300

    public init(key: SecretKey) { self.key = key }

    public var publicKey: String { key.publicKey }

    /// The `Authorization` header value: `Nostr <base64 of the event JSON>`.
    public func header(verb: String, hash: BlobHash?, now: Int64) throws -> String {
        var tags = [["t", verb], ["expiration", String(now + lifetime)]]
        if let hash { tags.append(["x", hash.hex]) }
        let event = try key.sign(kind: Self.kind, content: "\(verb) \(hash?.hex.prefix(12) ?? "")", tags: tags, createdAt: now)
        return "Nostr " + Data(event.rawJSON.utf8).base64EncodedString()
    }
}
