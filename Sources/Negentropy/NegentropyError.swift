/// Everything that can go wrong; a hostile or broken peer can only ever cause
/// one of these, never a trap.
public struct NegentropyError: Error, Sendable, CustomStringConvertible, Equatable {
    internal enum Kind: Equatable, Sendable {
        /// The peer's message does not parse or breaks a protocol rule.
        case malformedMessage(reason: String, offset: Int)
        /// The peer speaks another protocol version (the byte it sent is kept,
        /// so a caller can report it; NIP-77 answers with our highest version).
        case unsupportedProtocolVersion(UInt8)
        case frameSizeLimitTooSmall(Int)
        case alreadyInitiated
        case notInitiated
        case invalidHex(reason: String, offset: Int)
    }

    internal let kind: Kind

    internal init(_ kind: Kind) {
        self.kind = kind
    }

    internal static func malformed(_ reason: String, at offset: Int) -> NegentropyError {
        NegentropyError(.malformedMessage(reason: reason, offset: offset))
    }

    /// True when the peer answered with a protocol version other than 1: the
    /// session cannot go on, but nothing is wrong with either side's data.
    public var isUnsupportedVersion: Bool {
        if case .unsupportedProtocolVersion = kind { return true }
        return false
    }

    /// The version byte the peer sent (0x60 = version 0, 0x62 = version 2, ...)
    /// when `isUnsupportedVersion`, else nil.
    public var unsupportedVersionByte: UInt8? {
        if case .unsupportedProtocolVersion(let byte) = kind { return byte }
        return nil
    }

    public var description: String {
        switch kind {
        case .malformedMessage(let reason, let offset):
            return "Malformed negentropy message at byte \(offset): \(reason)."
        case .unsupportedProtocolVersion(let byte):
            return "The peer uses negentropy protocol version \(Int(byte) - 0x60) (byte 0x\(String(byte, radix: 16))), but only version 1 (0x61) is supported."
        case .frameSizeLimitTooSmall(let limit):
            return "A frame size limit of \(limit) bytes is not allowed: use 0 for no limit or at least 4096."
        case .alreadyInitiated:
            return "This negentropy initiator has already produced its initial message."
        case .notInitiated:
            return "This negentropy initiator must call initiate() before reconciling replies."
        case .invalidHex(let reason, let offset):
            return "Invalid hex at character \(offset): \(reason)."
        }
    }
}
