import AsyncAlgorithms
import Foundation
import Ledger
import Logging
import NostrCore
import RelayClient
import ServiceLifecycle

/// Records every pooled relay's health figures and NIP-11 document in the
/// ledger on an interval and at shutdown, so `relaysync relays` can show
/// them and selection after a restart starts from evidence.
struct HealthRecorder: Service {
    let pool: RelayPool
    let ledger: any DiscoveryStore & BookkeepingStore
    let logger: Logger
    var interval: Duration = .seconds(30)

    func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            await record()
        }
        // At shutdown too: the next run's ranking starts from the latest figures.
        await record()
    }

    func record() async {
        let encoder = JSONEncoder()
        var records: [RelayURL: RelayHealthRecord] = [:]
        for relay in await pool.relays {
            let health = await relay.health()
            let figures = try? encoder.encode(RelayHealthFigures(health))
            let info = await relay.informationIfRead().flatMap { try? encoder.encode($0) }
            records[relay.url] = RelayHealthRecord(
                figuresJSON: figures.map { String(decoding: $0, as: UTF8.self) },
                informationJSON: info.map { String(decoding: $0, as: UTF8.self) },
                updatedAt: WallClock.unixNow())
        }
        // A relay that cannot be reached says why in `status`, as after a one-shot run.
        for relay in await pool.relays {
            guard let failure = await relay.lastConnectionError() else { continue }
            try? await ledger.noteRelayError(relay.url, failure.summary, at: WallClock.unixNow())
        }
        do { try await ledger.saveRelayHealth(records) } catch {
            logger.warning("relay health not recorded", metadata: ["error": "\(error)"])
        }
    }
}
