/// Committed events as the ledger holds their text: the lines one after another as UTF-8 bytes,
/// with where each ends. The archive copies them as they are; making a `String` of each (and
/// validating its UTF-8 again) cost more than the copy.
public struct RawEventBatch: Sendable {
    /// Every event's JSON text, one after another, without separators.
    public private(set) var text: [UInt8] = []
    /// Where each event's text ends in `text` (the next one starts there).
    public private(set) var ends: [Int] = []
    /// The last event's seq, id and `created_at`.
    public private(set) var lastSeq: Int64 = 0
    public private(set) var lastCreatedAt: Int64 = 0
    private var lastIDBytes: [UInt8] = []

    public init() {}

    public var count: Int { ends.count }
    public var isEmpty: Bool { ends.isEmpty }
    public var lastID: String { String(decoding: lastIDBytes, as: UTF8.self) }

    /// The `index`-th event's text.
    public func line(_ index: Int) -> ArraySlice<UInt8> {
        text[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
    }

    mutating func append(seq: Int64, id: UnsafeBufferPointer<UInt8>, createdAt: Int64, raw: UnsafeBufferPointer<UInt8>) {
        text.append(contentsOf: raw)
        ends.append(text.count)
        lastSeq = seq
        lastCreatedAt = createdAt
        lastIDBytes.removeAll(keepingCapacity: true)
        lastIDBytes.append(contentsOf: id)
    }
}
