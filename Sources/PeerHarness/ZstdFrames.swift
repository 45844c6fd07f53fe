import Foundation

/// Where zstd frames start in a file, for tests that damage one frame on purpose.
public enum ZstdFrames {
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Offsets of every frame magic number (a compressed payload could hold one by chance;
    /// tests check the count they expect).
    public static func starts(in data: Data) -> [Int] {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { return [] }
        return (0...(bytes.count - 4)).filter { i in
            bytes[i] == magic[0] && bytes[i + 1] == magic[1] && bytes[i + 2] == magic[2] && bytes[i + 3] == magic[3]
        }
    }
}
