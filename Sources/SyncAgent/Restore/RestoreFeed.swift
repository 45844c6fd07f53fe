import Archive
import Dispatch
import Foundation
import NostrCore
import Synchronization

/// The reading half of a restore: parses, verifies, de-duplicates and filters archive lines on a
/// thread of its own and hands the events over in batches, so reading the next batch overlaps
/// publishing the last. At most `depth` batches wait to be taken, which keeps memory flat however
/// large the archives are. Replaceable and addressable events are held back and come last,
/// oldest first, so the relay ends up keeping the newest version.
final class RestoreFeed: Sendable {
    enum Item: Sendable {
        case events([Event], replaceable: Bool)
        /// The account of every line that was not handed over: invalid, skipped, restored earlier.
        case finished(RestoreReport)
    }

    private struct Stopped: Error {}

    let options: RestoreJob.Options
    /// Ids the journal says the target already accepted.
    let restored: Set<Bytes32>
    private let slots: DispatchSemaphore
    private let stopped = Atomic<Bool>(false)

    init(options: RestoreJob.Options, restored: Set<Bytes32>, depth: Int = 4) {
        self.options = options
        self.restored = restored
        self.slots = DispatchSemaphore(value: depth)
    }

    /// Starts the reading thread. Call `taken()` for every `.events` item received, and `stop()`
    /// when giving up early, so the thread never waits for a consumer that has gone.
    func items() -> AsyncThrowingStream<Item, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Item.self, throwing: (any Error).self)
        continuation.onTermination = { [self] _ in stop() }
        let thread = Thread { [self] in
            do {
                try produce(continuation)
                continuation.finish()
            } catch is Stopped {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.name = "restore-reader"
        thread.start()
        return stream
    }

    func taken() { slots.signal() }

    func stop() {
        stopped.store(true, ordering: .releasing)
        slots.signal()
    }

    private func produce(_ out: AsyncThrowingStream<Item, any Error>.Continuation) throws {
        var report = RestoreReport(target: options.target, dryRun: options.dryRun)
        var seen = Set<Bytes32>()
        var replaceables: [Event] = []
        var pending: [Event] = []
        let now = Int64(Date().timeIntervalSince1970)
        func hand(_ batch: [Event], replaceable: Bool) throws {
            slots.wait()
            if stopped.load(ordering: .acquiring) { throw Stopped() }
            out.yield(.events(batch, replaceable: replaceable))
        }
        for file in options.files {
            let reader = ArchiveReader(url: file)
            try reader.forEachLine { line in
                if stopped.load(ordering: .relaxed) { throw Stopped() }
                report.read += 1
                let event: Event
                do throws(EventParseError) { event = try Event(json: line.text) } catch {
                    report.invalid[error.field.map { "malformed \($0)" } ?? "not an event", default: .init()].add(
                        "\(file.lastPathComponent):\(line.lineNumber)")
                    return
                }
                let verdict = event.verify()
                guard verdict.isValid else {
                    report.invalid[verdict == .badSignature ? "bad signature" : "id does not match content", default: .init()].add(
                        "\(file.lastPathComponent):\(line.lineNumber)")
                    return
                }
                // A verified event's id is 64 hex digits, so the key always exists.
                let key = Bytes32(hex: event.id)!
                guard seen.insert(key).inserted else {
                    report.skipped["duplicate within the archives", default: .init()].add(event.id)
                    return
                }
                if let skip = skipReason(event, now: now) {
                    report.skipped[skip, default: .init()].add(event.id)
                } else if restored.contains(key) {
                    report.alreadyRestored += 1
                } else if event.kindClass == .replaceable || event.kindClass == .addressable {
                    replaceables.append(event)
                } else {
                    pending.append(event)
                    if pending.count >= options.batchSize {
                        try hand(pending, replaceable: false)
                        pending.removeAll(keepingCapacity: true)
                    }
                }
            }
            for p in reader.problems {
                report.invalid["damaged archive: \(p.reason)", default: .init()].add("\(file.lastPathComponent) byte \(p.offset)")
            }
        }
        if !pending.isEmpty { try hand(pending, replaceable: false) }
        // Oldest first, so the relay ends with the newest version.
        replaceables.sort { $1.supersedes($0) }
        for start in stride(from: 0, to: replaceables.count, by: options.batchSize) {
            try hand(Array(replaceables[start..<min(start + options.batchSize, replaceables.count)]), replaceable: true)
        }
        out.yield(.finished(report))
    }

    func skipReason(_ e: Event, now: Int64) -> String? {
        if let kinds = options.kinds, !kinds.contains(e.kind) { return "kind not in --kinds" }
        if let since = options.since, e.createdAt < since { return "older than --since" }
        if let until = options.until, e.createdAt > until { return "newer than --until" }
        if e.kindClass == .ephemeral { return "ephemeral kind: relays do not store it" }
        if e.isExpired(at: now) { return "expired (NIP-40): relays reject or drop it" }
        return nil
    }
}
