/// Whoever follows `Relay.connectionChanges()`: each gets the connection as it is now, then every
/// change, and the stream ends when the relay stops for good.
struct ConnectionFollowers {
    private var followers: [Int: AsyncStream<ConnectionChange>.Continuation] = [:]
    private var lastID = 0

    /// Tells `follower` the connection now; returns the id to remove it by, or nil when the relay
    /// has already stopped (its stream is finished at once).
    mutating func add(_ follower: AsyncStream<ConnectionChange>.Continuation, now change: ConnectionChange) -> Int? {
        follower.yield(change)
        if change.terminated {
            follower.finish()
            return nil
        }
        lastID += 1
        followers[lastID] = follower
        return lastID
    }

    mutating func remove(_ id: Int) {
        followers.removeValue(forKey: id)
    }

    mutating func announce(_ change: ConnectionChange) {
        for follower in followers.values {
            follower.yield(change)
            if change.terminated { follower.finish() }
        }
        if change.terminated { followers = [:] }
    }
}
