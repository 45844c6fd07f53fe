import NIOCore
import NostrCore
import PostgresNIO

// Relays are bound as their normalized text, the form every table keeps them in.
extension RelayURL: PostgresNonThrowingEncodable {
    public static var psqlType: PostgresDataType { .text }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeString(normalized)
    }
}
