/// A committed event as the SQLite ledger holds it, handed over while its row is read: the bytes
/// are SQLite's own and valid only during the call that receives them. The archive copies the text
/// into its file as it is; making a `String` of each (and validating its UTF-8 again) cost more
/// than the copy, and gathering a batch's texts first cost memory.
public struct RawEventRow {
    public let seq: Int64
    public let createdAt: Int64
    /// The event id's hex, as UTF-8.
    public let id: UnsafeBufferPointer<UInt8>
    /// The event object's JSON text, as UTF-8.
    public let raw: UnsafeBufferPointer<UInt8>
}
