import NIOWebSocket

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Masking keys for client frames, which RFC 6455 §5.3 wants unpredictable. They come from the
/// system's CSPRNG a kilobyte (256 keys) per call: drawing each key byte on its own, as
/// swift-websocket does, cost four `getrandom` calls per frame sent.
struct MaskingKeys {
    private var pool = [UInt8](repeating: 0, count: 1024)
    private var used: Int

    init() { used = pool.count }

    mutating func next() -> WebSocketMaskingKey {
        if used + 4 > pool.count { refill() }
        defer { used += 4 }
        // A four-byte slice always makes a key.
        return WebSocketMaskingKey(pool[used..<(used + 4)])!
    }

    private mutating func refill() {
        // glibc (2.36+) and Darwin both draw arc4random_buf from the kernel's CSPRNG.
        pool.withUnsafeMutableBytes { raw in arc4random_buf(raw.baseAddress!, raw.count) }
        used = 0
    }
}
