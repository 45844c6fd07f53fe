/// Runs `body` over a string's UTF-8 bytes, keeping the body's typed error
/// (`String.withUTF8` is `rethrows`, which would widen it to `any Error`).
func withUTF8Bytes<T, E: Error>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T {
    var text = text
    let result: Result<T, E> = text.withUTF8 { buf in
        do throws(E) { return .success(try body(buf)) } catch { return .failure(error) }
    }
    return try result.get()
}
