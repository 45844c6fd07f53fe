import Foundation
import Ledger
import NostrCore
import RelayClient

/// The ledger's discovery records read back as the agent's types: one place for the
/// parsing that the resolver, the one-shot run and `relaysync relays` all need.
extension Ledger {
    /// The cached relay list of each author that has one.
    func cachedRelayLists(_ pubkeys: [String]) throws -> [String: RelayListMetadata] {
        var out: [String: RelayListMetadata] = [:]
        for (pubkey, cached) in try authorMetadata(kind: RelayListMetadata.kind, pubkeys: pubkeys) {
            if let event = try? Event(json: cached.raw), let list = RelayListMetadata(event: event) { out[pubkey] = list }
        }
        return out
    }

    /// The cached DM relay list (kind 10050) of each author that has one.
    func cachedDirectMessageRelays(_ pubkeys: [String]) throws -> [String: DirectMessageRelays] {
        var out: [String: DirectMessageRelays] = [:]
        for (pubkey, cached) in try authorMetadata(kind: Kind.dmRelayList, pubkeys: pubkeys) {
            if let event = try? Event(json: cached.raw), let list = DirectMessageRelays(event: event) { out[pubkey] = list }
        }
        return out
    }

    /// Health figures and NIP-11 documents as the daemon last recorded them, and when.
    func recordedRelayFigures() throws -> (health: [String: RelayHealthFigures], information: [String: RelayInformation], recordedAt: [String: Int64]) {
        let records = try relayHealthRecords()
        let decoder = JSONDecoder()
        return (
            records.compactMapValues { r in r.figuresJSON.flatMap { try? decoder.decode(RelayHealthFigures.self, from: Data($0.utf8)) } },
            records.compactMapValues { r in r.informationJSON.flatMap { try? decoder.decode(RelayInformation.self, from: Data($0.utf8)) } },
            records.mapValues(\.updatedAt)
        )
    }
}

extension RelayContentPolicy {
    /// Relay → why the content strategy skips it for reading, for those it skips.
    static func readRefusals(_ documents: [String: RelayInformation?], hasKey: Bool) -> [String: String] {
        documents.compactMapValues { RelayContentPolicy(information: $0, hasKey: hasKey).readSkipReason }
    }
}
