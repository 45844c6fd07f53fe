import Foundation
import Ledger
import Logging
import NostrCore
import RelayClient

/// NIP-11 documents of relays the agent considers but may never connect to,
/// read once per run and recorded in the ledger for `relaysync relays`.
actor InformationCache {
    private var documents: [RelayURL: RelayInformation?] = [:]
    private let ledger: any DiscoveryStore
    private let logger: Logger

    init(ledger: any DiscoveryStore, logger: Logger) {
        self.ledger = ledger
        self.logger = logger
    }

    /// Documents for `urls` (nil where a relay has none), reading the missing ones concurrently.
    func documents(for urls: Set<RelayURL>) async -> [RelayURL: RelayInformation?] {
        let missing = urls.filter { documents[$0] == nil }
        let logger = self.logger
        let fetched = await withTaskGroup(of: (RelayURL, RelayInformation?).self) { group in
            for url in missing {
                group.addTask {
                    var configuration = RelayConfiguration(url: url)
                    configuration.fetchInformation = true
                    return (url, await Relay(configuration: configuration, logger: logger).information())
                }
            }
            var out: [(RelayURL, RelayInformation?)] = []
            for await pair in group { out.append(pair) }
            return out
        }
        var records: [RelayURL: RelayHealthRecord] = [:]
        for (url, info) in fetched {
            documents[url] = .some(info)
            if let info, let data = try? JSONEncoder().encode(info) {
                records[url] = RelayHealthRecord(figuresJSON: nil, informationJSON: String(decoding: data, as: UTF8.self), updatedAt: WallClock.unixNow())
            }
        }
        if !records.isEmpty {
            do { try await ledger.saveRelayHealth(records) } catch {
                logger.warning("relay information not recorded", metadata: ["error": "\(error)"])
            }
        }
        return documents.filter { urls.contains($0.key) }
    }
}
