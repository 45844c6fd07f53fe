import Foundation

/// The version, and the git commit the installed binary was built from.
///
/// The commit is not compiled in: a plain `swift build` must work in any clone and leave the tree
/// clean. `scripts/install` stamps the copy it installs with an ELF section, `.relaysync_commit`,
/// holding `git rev-parse HEAD` (plus `-dirty` when tracked files differ from HEAD), added with
/// `objcopy --add-section`. The running binary reads that section from `/proc/self/exe`; a binary
/// without it (any `swift build` output) reports `commit unknown`.
enum BuildInfo {
    static let version = "0.9.0"
    static let commitSection = ".relaysync_commit"

    /// `relaysync 0.9.0 (commit abc1234)`, or `(commit unknown)` for an unstamped build.
    static var versionLine: String {
        "relaysync \(version) (commit \(commit.map(short) ?? "unknown"))"
    }

    /// The stamped commit (40 hex digits, maybe followed by `-dirty`), or nil.
    static var commit: String? {
        #if os(Linux)
            guard let data = ELFSection.read(named: commitSection, fromFile: "/proc/self/exe") else { return nil }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\0")))
            let hex = text.prefix { $0.isHexDigit }
            guard hex.count >= 7, hex.count <= 64, text.dropFirst(hex.count).allSatisfy({ $0.isLetter || $0 == "-" }) else { return nil }
            return text
        #else
            return nil
        #endif
    }

    /// The first 7 hex digits, keeping a `-dirty` suffix.
    static func short(_ commit: String) -> String {
        let hex = commit.prefix { $0.isHexDigit }
        return String(hex.prefix(7)) + commit.dropFirst(hex.count)
    }
}

/// Just enough ELF64 (little-endian) reading to fetch one section's bytes by name.
enum ELFSection {
    static func read(named name: String, fromFile path: String) -> Data? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func bytes(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard count >= 0, count <= 1 << 20, (try? file.seek(toOffset: offset)) != nil,
                let d = try? file.read(upToCount: count), d.count == count
            else { return nil }
            return [UInt8](d)
        }
        guard let header = bytes(0, 64), header.starts(with: [0x7F, 0x45, 0x4C, 0x46]),
            header[4] == 2, header[5] == 1
        else { return nil }  // ELFCLASS64, little-endian
        let shoff = header.le(0x28, UInt64.self), shentsize = Int(header.le(0x3A, UInt16.self))
        let shnum = Int(header.le(0x3C, UInt16.self)), shstrndx = Int(header.le(0x3E, UInt16.self))
        guard shoff != 0, shentsize >= 64, shnum > 0, shstrndx < shnum,
            let table = bytes(shoff, shentsize * shnum)
        else { return nil }
        func section(_ i: Int) -> (name: UInt32, offset: UInt64, size: UInt64) {
            let base = i * shentsize
            return (table.le(base, UInt32.self), table.le(base + 0x18, UInt64.self), table.le(base + 0x20, UInt64.self))
        }
        let strtab = section(shstrndx)
        guard let names = bytes(strtab.offset, Int(min(strtab.size, 1 << 20))) else { return nil }
        let wanted = Array(name.utf8)
        for i in 0..<shnum {
            let s = section(i)
            let start = Int(s.name)
            guard start + wanted.count < names.count,
                names[start..<start + wanted.count].elementsEqual(wanted), names[start + wanted.count] == 0
            else { continue }
            return bytes(s.offset, Int(min(s.size, 4096))).map { Data($0) }
        }
        return nil
    }
}

private extension [UInt8] {
    func le<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(self[offset + i]) << (8 * i) }
        return value
    }
}
