import Foundation
import NostrCore

/// Private messages, relay lists and requests to vanish through `sdk_tool.py` (nostr-sdk): the second
/// person's client that sends to U, U's own client that reads them back, and U's published lists.
/// Each call fails (throws) when the relay refused any event it publishes.
extension NostrSDKTool {
    public struct DMSendResult: Sendable, Decodable {
        /// Gift wraps (kind 1059) p-tagged to the receiver that the relay accepted.
        public let sentGiftWraps: Int
        /// NIP-04 messages (kind 4) that the relay accepted.
        public let sentNip04: Int
        /// In sending order: `msg-SEED-I` for the gift wraps, then `nip04-SEED-I`.
        public let texts: [String]
        /// The receiver's gift wraps, then the NIP-04 messages (the sender's copies are not among them).
        public let ids: [String]
        public let giftWrapIds: [String]
        public let nip04Ids: [String]
        /// With `senderCopy`: NIP-17's copies wrapped to the sender (p-tagged to the sender).
        public let senderCopyIds: [String]
        /// The sender's public key (hex).
        public let pubkey: String
    }

    /// `count` NIP-17 messages (nostr-sdk's gift wraps: a throwaway author, `created_at` up to two days
    /// back) and `nip04` NIP-04 messages (`created_at` from `createdAt`, else just before now, one
    /// second apart) from the key in `senderKeyFile` (created when missing) to `receiver` (hex),
    /// published to `relay`. `auth` answers NIP-42 challenges as the sender. `eventsOut` also gets the
    /// events as JSON lines.
    public static func dmSend(
        relay: RelayURL, senderKeyFile: String, receiver: String, count: Int, nip04: Int = 0, seed: Int = 1, createdAt: Int64? = nil,
        senderCopy: Bool = false, eventsOut: String? = nil, auth: Bool = false
    ) throws -> DMSendResult {
        var args = [
            "dm-send", "--relay", relay.normalized, "--sender-key-file", senderKeyFile, "--receiver", receiver, "--count", String(count),
            "--nip04", String(nip04), "--seed", String(seed),
        ]
        if let createdAt { args += ["--created-at", String(createdAt)] }
        if senderCopy { args.append("--sender-copy") }
        if let eventsOut { args += ["--out", eventsOut] }
        if auth { args.append("--auth") }
        return try decodeReport(DMSendResult.self, try run(args), command: "dm-send")
    }

    public struct DMReadResult: Sendable, Decodable {
        /// Gift wraps p-tagged to the receiver that unwrapped.
        public let giftWraps: Int
        /// Kind 4 p-tagged to the receiver that decrypted.
        public let nip04: Int
        /// Every decrypted text, sorted.
        public let texts: [String]
        /// The ids of the events that decrypted, sorted.
        public let ids: [String]
        /// The senders' public keys (the seal's author for NIP-17, the event's for NIP-04), sorted.
        public let senders: [String]
        /// Kind 1059 or 4 addressed to the receiver that did not decrypt.
        public let undecryptable: Int
        /// Addressed to the receiver, but the id or signature does not verify.
        public let badSignatures: Int
        /// Other kinds, or not p-tagged to the receiver.
        public let ignored: Int
        /// From files only: lines that are not events.
        public let unparsable: Int?
        /// From files only: zstd segments cut short or damaged (the lines before the damage count).
        public let damagedFiles: Int?
        /// The receiver's public key (hex).
        public let pubkey: String
    }

    /// The receiver's kind 1059 and kind 4 on `relay` (`#p` filters, paged), unwrapped and decrypted
    /// with the key in `receiverKeyFile`. `auth` answers NIP-42 challenges as the receiver.
    public static func dmRead(relay: RelayURL, receiverKeyFile: String, auth: Bool = false) throws -> DMReadResult {
        var args = ["dm-read", "--relay", relay.normalized, "--receiver-key-file", receiverKeyFile]
        if auth { args.append("--auth") }
        return try decodeReport(DMReadResult.self, try run(args), command: "dm-read")
    }

    /// The same from files of event JSON lines: plain, or zstd archive segments (`.zst`, `.zst.part`).
    public static func dmRead(eventFiles: [String], receiverKeyFile: String) throws -> DMReadResult {
        var args = ["dm-read", "--receiver-key-file", receiverKeyFile]
        for file in eventFiles { args += ["--events", file] }
        return try decodeReport(DMReadResult.self, try run(args), command: "dm-read")
    }

    /// The same from events given as JSON text.
    public static func dmRead(eventJSON: [String], receiverKeyFile: String) throws -> DMReadResult {
        let out = try run(["dm-read", "--events", "-", "--receiver-key-file", receiverKeyFile], input: eventJSON.joined(separator: "\n") + "\n")
        return try decodeReport(DMReadResult.self, out, command: "dm-read")
    }

    public struct RelayListResult: Sendable, Decodable {
        public let pubkey: String
        /// The kind 10050's id, when `dmRelays` named any.
        public let dmRelayList: String?
        /// The kind 10002's id, when `read`, `write` or `both` named any.
        public let relayList: String?
        /// The published events' JSON.
        public let events: [String]
    }

    /// Publishes to every relay in `relays` the key's kind 10050 (`["relay", URL]` per `dmRelays`) and
    /// kind 10002 (`["r", URL, "read"]`, `["r", URL, "write"]`, `["r", URL]` for `both`), each only
    /// when it has a URL. The key in `keyFile` is created when missing.
    public static func publishRelayLists(
        to relays: [RelayURL], keyFile: String, dmRelays: [RelayURL] = [], read: [RelayURL] = [], write: [RelayURL] = [], both: [RelayURL] = [],
        createdAt: Int64? = nil, auth: Bool = false
    ) throws -> RelayListResult {
        var args = ["relay-list", "--key-file", keyFile]
        for url in relays { args += ["--relay", url.normalized] }
        for url in dmRelays { args += ["--dm-relay", url.normalized] }
        for url in read { args += ["--read", url.normalized] }
        for url in write { args += ["--write", url.normalized] }
        for url in both { args += ["--both", url.normalized] }
        if let createdAt { args += ["--created-at", String(createdAt)] }
        if auth { args.append("--auth") }
        return try decodeReport(RelayListResult.self, try run(args), command: "relay-list")
    }

    public struct VanishResult: Sendable, Decodable {
        public let id: String
        public let pubkey: String
        /// The kind 62's JSON.
        public let event: String
        /// True when it was published to every relay asked.
        public let published: Bool
    }

    /// A NIP-62 request to vanish signed with the key in `keyFile`: one `["relay", target]` tag per
    /// target (a relay URL, or `"ALL_RELAYS"`), published to each of `relays` (none: only made).
    public static func vanish(
        keyFile: String, targets: [String], publishTo relays: [RelayURL] = [], content: String = "", createdAt: Int64? = nil, auth: Bool = false
    ) throws -> VanishResult {
        var args = ["vanish", "--key-file", keyFile, "--content", content]
        for target in targets { args += ["--target", target] }
        for url in relays { args += ["--relay", url.normalized] }
        if let createdAt { args += ["--created-at", String(createdAt)] }
        if auth { args.append("--auth") }
        return try decodeReport(VanishResult.self, try run(args), command: "vanish")
    }

    private static func decodeReport<T: Decodable>(_ type: T.Type, _ out: String, command: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.self, from: Data(out.utf8))
        } catch {
            throw PeerError("sdk_tool.py \(command) printed what is not its report (\(error)): \(out.prefix(400))")
        }
    }
}
