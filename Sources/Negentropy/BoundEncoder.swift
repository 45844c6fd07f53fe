/// Writes bounds, whose timestamps are deltas from the previous bound written
/// in the same message.
internal struct BoundEncoder {
    private var lastTimestamp: UInt64 = 0

    mutating func append(_ bound: Bound, to out: inout [UInt8]) {
        if bound.timestamp == .max {
            lastTimestamp = .max
            Varint.append(0, to: &out)
        } else {
            // Bounds are written in ascending order, so this cannot wrap; the
            // wrapping operators only keep a logic error from becoming a trap.
            Varint.append((bound.timestamp &- lastTimestamp) &+ 1, to: &out)
            lastTimestamp = bound.timestamp
        }
        Varint.append(UInt64(bound.idLength), to: &out)
        bound.id.append(to: &out, count: bound.idLength)
    }
}
