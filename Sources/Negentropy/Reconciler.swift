/// The message processing both roles share; a port of `reconcileAux` and
/// `splitRange` from the reference C++ (hoytech/negentropy, cpp/negentropy.h).
internal struct Reconciler: Sendable {
    static let protocolVersion: UInt8 = 0x61
    /// A differing range is cut into this many sub-ranges; ranges with fewer
    /// than twice as many records are sent as id lists instead.
    static let buckets = 16
    static let minimumFrameSizeLimit = 4096

    let storage: NegentropyStorage
    let frameSizeLimit: Int
    let isInitiator: Bool

    init(storage: NegentropyStorage, frameSizeLimit: Int, isInitiator: Bool) throws(NegentropyError) {
        guard frameSizeLimit == 0 || frameSizeLimit >= Self.minimumFrameSizeLimit else {
            throw NegentropyError(.frameSizeLimitTooSmall(frameSizeLimit))
        }
        self.storage = storage
        self.frameSizeLimit = frameSizeLimit
        self.isInitiator = isInitiator
    }

    func initialMessage() -> [UInt8] {
        var output: [UInt8] = [Self.protocolVersion]
        var encoder = BoundEncoder()
        splitRange(from: 0, to: storage.count, upperBound: .infinity, into: &output, encoder: &encoder)
        return output
    }

    /// Answers one message. The initiator collects `have` (positions in the
    /// storage) and `need` as it goes;
    /// a result of just the version byte means there is nothing left to ask.
    func reconcile(
        _ query: [UInt8],
        have: inout [Int],
        need: inout [NegentropyID]
    ) throws(NegentropyError) -> [UInt8] {
        var reader = MessageReader(query)
        var encoder = BoundEncoder()
        var output: [UInt8] = [Self.protocolVersion]

        let version = try reader.readByte("protocol version byte")
        guard (0x60...0x6F).contains(version) else {
            throw .malformed("0x\(String(version, radix: 16)) is not a negentropy protocol version byte", at: 0)
        }
        if version != Self.protocolVersion {
            if isInitiator {
                throw NegentropyError(.unsupportedProtocolVersion(version))
            }
            // NIP-77: answer with the single version byte we do support.
            return output
        }

        let items = storage.items
        let storageSize = items.count
        var prevBound = Bound.zero
        var prevIndex = 0
        // Matching ranges are not echoed one by one: a single Skip is written
        // only when something after them has to be sent.
        var skipPending = false

        while !reader.isAtEnd {
            let rangeOffset = reader.offset
            // Kept so that a range dropped for the frame size limit can be
            // undone: its bounds already moved the timestamp deltas along.
            let encoderBeforeRange = encoder
            let skipPendingBeforeRange = skipPending
            if prevBound.timestamp == .max {
                throw .malformed("range after the range that reaches infinity", at: rangeOffset)
            }
            let currBound = try reader.readBound()
            if currBound < prevBound {
                throw .malformed("range bounds go backwards", at: rangeOffset)
            }
            let modeOffset = reader.offset
            let mode = try reader.readVarint("mode")

            let lower = prevIndex
            var upper = storage.lowerBound(of: currBound, from: lower)
            var pending: [UInt8] = []

            switch mode {
            case 0:  // Skip
                skipPending = true

            case 1:  // Fingerprint
                let theirs = try reader.readFingerprint()
                if theirs == storage.fingerprint(from: lower, to: upper) {
                    skipPending = true
                } else {
                    if skipPending {
                        skipPending = false
                        encoder.append(prevBound, to: &pending)
                        Varint.append(0, to: &pending)
                    }
                    splitRange(from: lower, to: upper, upperBound: currBound, into: &pending, encoder: &encoder)
                }

            case 2:  // IdList
                let count = try reader.readIDCount()
                if isInitiator {
                    skipPending = true
                    try collectDifferences(
                        theirCount: count, reader: &reader, lower: lower, upper: upper, have: &have, need: &need)
                } else {
                    // The responder learns nothing from their ids (only the
                    // initiator does), so it just answers with its own.
                    reader.skipIDs(count)
                    if skipPending {
                        skipPending = false
                        encoder.append(prevBound, to: &pending)
                        Varint.append(0, to: &pending)
                    }
                    var responseIDs: [UInt8] = []
                    var endBound = currBound
                    var index = lower
                    while index < upper {
                        if exceedsFrameSizeLimit(output.count + responseIDs.count) {
                            // Cut the list here; the rest of the range joins
                            // the remainder fingerprinted below.
                            endBound = Bound(items[index])
                            upper = index
                            break
                        }
                        items[index].id.append(to: &responseIDs, count: 32)
                        index += 1
                    }
                    encoder.append(endBound, to: &pending)
                    Varint.append(2, to: &pending)
                    Varint.append(UInt64(index - lower), to: &pending)
                    pending.append(contentsOf: responseIDs)
                    output.append(contentsOf: pending)
                    pending.removeAll()
                }

            default:
                throw .malformed("unknown mode \(mode)", at: modeOffset)
            }

            if exceedsFrameSizeLimit(output.count + pending.count) {
                // Stop and send one fingerprint for everything not yet
                // settled, so the peer asks about it in the next round.
                let remainderStart: Int
                if pending.isEmpty {
                    // An id list answer went out, perhaps cut short:
                    // everything below `upper` is answered.
                    remainderStart = upper
                } else {
                    // This range's answer is dropped. Unlike the reference,
                    // first close the settled ranges before it with their
                    // Skip, and fingerprint from this range on. The reference
                    // drops that Skip and fingerprints only from `upper`, so
                    // its closing range reopens settled ranges (whose ids the
                    // initiator then gets a second time) while its fingerprint
                    // leaves out this range's records (which can make a peer
                    // holding none of them wrongly see a match).
                    encoder = encoderBeforeRange
                    if skipPendingBeforeRange {
                        encoder.append(prevBound, to: &output)
                        Varint.append(0, to: &output)
                    }
                    remainderStart = lower
                }
                encoder.append(.infinity, to: &output)
                Varint.append(1, to: &output)
                storage.fingerprint(from: remainderStart, to: storageSize).append(to: &output)
                break
            }
            output.append(contentsOf: pending)

            prevIndex = upper
            prevBound = currBound
        }

        return output
    }

    /// Compares their id list for [lower, upper) with ours. `need` keeps the
    /// order of their message and `have` the storage order (as positions, so a
    /// caller finds its own record of each without a search), so results are
    /// reproducible.
    private func collectDifferences(
        theirCount: Int,
        reader: inout MessageReader,
        lower: Int,
        upper: Int,
        have: inout [Int],
        need: inout [NegentropyID]
    ) throws(NegentropyError) {
        var theirs = Set<NegentropyID>(minimumCapacity: theirCount)
        var theirOrder: [NegentropyID] = []
        theirOrder.reserveCapacity(theirCount)
        for _ in 0..<theirCount {
            let id = try reader.readID()
            if theirs.insert(id).inserted {
                theirOrder.append(id)
            }
        }
        let items = storage.items
        for index in lower..<upper {
            let id = items[index].id
            if theirs.remove(id) == nil {
                have.append(index)
            }
        }
        for id in theirOrder where theirs.contains(id) {
            need.append(id)
        }
    }

    /// Describes [lower, upper) so the peer can compare: the ids themselves
    /// when there are few, else fingerprints of 16 nearly equal buckets.
    private func splitRange(
        from lower: Int,
        to upper: Int,
        upperBound: Bound,
        into out: inout [UInt8],
        encoder: inout BoundEncoder
    ) {
        let items = storage.items
        let count = upper - lower
        if count < Self.buckets * 2 {
            encoder.append(upperBound, to: &out)
            Varint.append(2, to: &out)
            Varint.append(UInt64(count), to: &out)
            for index in lower..<upper {
                items[index].id.append(to: &out, count: 32)
            }
            return
        }
        let perBucket = count / Self.buckets
        let bucketsWithExtra = count % Self.buckets
        var current = lower
        for bucket in 0..<Self.buckets {
            let size = perBucket + (bucket < bucketsWithExtra ? 1 : 0)
            let fingerprint = storage.fingerprint(from: current, to: current + size)
            current += size
            let bound =
                current == upper
                ? upperBound
                : Bound.minimal(between: items[current - 1], and: items[current])
            encoder.append(bound, to: &out)
            Varint.append(1, to: &out)
            fingerprint.append(to: &out)
        }
    }

    private func exceedsFrameSizeLimit(_ size: Int) -> Bool {
        // The reference keeps 200 bytes spare for the closing fingerprint.
        frameSizeLimit != 0 && size > frameSizeLimit - 200
    }
}
