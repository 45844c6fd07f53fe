import Foundation
import Ledger
import NostrCore
import RelayClient

/// The ledger's discovery records read back as the agent's types: one place for the
/// parsing that the resolver, the one-shot run and `relaysync relays` all need.
enum DiscoveryRecords {
    /// The relay lists among cached kind 10002 events, by author.
    static func relayLists(_ cached: [String: CachedAuthorMetadata]) -> [String: RelayListMetadata] {
        cached.compactMapValues { (try? Event(json: $0.raw)).flatMap(RelayListMetadata.init(event:)) }
    }

    /// The DM relay lists among cached kind 10050 events, by author.
    static func directMessageRelays(_ cached: [String: CachedAuthorMetadata]) -> [String: DirectMessageRelays] {
        cached.compactMapValues { (try? Event(json: $0.raw)).flatMap(DirectMessageRelays.init(event:)) }
    }

    /// Health figures and NIP-11 documents as last recorded, and when.
    static func figures(
        _ records: [RelayURL: RelayHealthRecord]
    ) -> (health: [RelayURL: RelayHealthFigures], information: [RelayURL: RelayInformation], recordedAt: [RelayURL: Int64]) {
        let decoder = JSONDecoder()
        return (
            records.compactMapValues { r in r.figuresJSON.flatMap { try? decoder.decode(RelayHealthFigures.self, from: Data($0.utf8)) } },
            records.compactMapValues { r in r.informationJSON.flatMap { try? decoder.decode(RelayInformation.self, from: Data($0.utf8)) } },
            records.mapValues(\.updatedAt)
        )
    }
}

extension DiscoveryStore {
    /// The cached relay list of each author that has one.
    func cachedRelayLists(_ pubkeys: [String]) async throws -> [String: RelayListMetadata] {
        DiscoveryRecords.relayLists(try await authorMetadata(kind: RelayListMetadata.kind, pubkeys: pubkeys))
    }

    /// The cached DM relay list (kind 10050) of each author that has one.
    func cachedDirectMessageRelays(_ pubkeys: [String]) async throws -> [String: DirectMessageRelays] {
        DiscoveryRecords.directMessageRelays(try await authorMetadata(kind: Kind.dmRelayList, pubkeys: pubkeys))
    }

    /// Health figures and NIP-11 documents as the daemon last recorded them, and when.
    func recordedRelayFigures() async throws -> (
        health: [RelayURL: RelayHealthFigures], information: [RelayURL: RelayInformation], recordedAt: [RelayURL: Int64]
    ) {
        DiscoveryRecords.figures(try await relayHealthRecords())
    }
}

extension RelayContentPolicy {
    /// Relay → why the content strategy skips it for reading, for those it skips.
    static func readRefusals<Address: Hashable>(_ documents: [Address: RelayInformation?], hasKey: Bool) -> [Address: String] {
        documents.compactMapValues { RelayContentPolicy(information: $0, hasKey: hasKey).readSkipReason }
    }
}
