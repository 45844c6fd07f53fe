import Foundation
import NostrCore

/// Events collected from concurrent callbacks.
final class EventTally: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    private var set: Set<String> = []
    func add(_ events: [Event]) {
        lock.withLock {
            list += events.map(\.id); set.formUnion(events.map(\.id))
        }
    }
    var ids: Set<String> { lock.withLock { set } }
    var count: Int { lock.withLock { list.count } }
}
