import Foundation
import Synchronization

/// The local store: `<directory>/<first two hex>/<sha256>`, each file complete and verified.
/// Fetches write into `<directory>/.partial/` and are renamed in only after their hash matched and
/// the bytes were fsynced; the folder is fsynced after the rename, so a crash leaves either no
/// file or the whole verified one. Partial files from a crash are removed on open.
public final class BlobStore: Sendable {
    public let directory: URL
    let partialDirectory: URL
    private let used: Mutex<Int64>

    public init(directory: String) throws {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        partialDirectory = self.directory.appendingPathComponent(".partial", isDirectory: true)
        let fm = FileManager.default
        try? fm.removeItem(at: partialDirectory)
        try fm.createDirectory(at: partialDirectory, withIntermediateDirectories: true)
        used = Mutex(Self.measure(self.directory))
    }

    public func path(of hash: BlobHash) -> URL {
        directory.appendingPathComponent(hash.shard, isDirectory: true).appendingPathComponent(hash.hex)
    }

    public func contains(_ hash: BlobHash) -> Bool { FileManager.default.fileExists(atPath: path(of: hash).path) }

    public func size(of hash: BlobHash) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path(of: hash).path)[.size] as? NSNumber)?.int64Value
    }

    /// Bytes in the store (kept blobs and partial files).
    public var usedBytes: Int64 { used.withLock { $0 } }

    /// Reserves `bytes` of the budget; false when that would pass `limit`.
    func reserve(_ bytes: Int64, limit: Int64?) -> Bool {
        used.withLock { u in
            if let limit, u + bytes > limit { return false }
            u += bytes
            return true
        }
    }

    func release(_ bytes: Int64) { used.withLock { $0 -= bytes } }

    /// A new partial file, open for writing.
    func makePartial() throws -> (url: URL, handle: FileHandle) {
        let url = partialDirectory.appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw FetchFailure(.io, "cannot create \(url.path)")
        }
        return (url, try FileHandle(forWritingTo: url))
    }

    /// Moves a verified, fsynced partial file into place and fsyncs the folder.
    func keep(_ partial: URL, as hash: BlobHash) throws {
        let dir = directory.appendingPathComponent(hash.shard, isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        guard rename(partial.path, path(of: hash).path) == 0 else {
            throw FetchFailure(.io, "rename into \(dir.path): \(String(cString: strerror(errno)))")
        }
        let fd = open(dir.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Removes a blob found damaged (audit).
    public func remove(_ hash: BlobHash) {
        if let s = size(of: hash) { release(s) }
        try? FileManager.default.removeItem(at: path(of: hash))
    }

    /// Every blob file in the store (names that are hashes), for audit and restore.
    public func allHashes() -> [BlobHash] {
        let fm = FileManager.default
        var out: [BlobHash] = []
        for shard in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where shard.count == 2 {
            for name in (try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent(shard).path)) ?? [] {
                if let h = BlobHash(name), h.shard == shard { out.append(h) }
            }
        }
        return out.sorted()
    }

    static func measure(_ dir: URL) -> Int64 {
        var total: Int64 = 0
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
        while let u = e?.nextObject() as? URL {
            guard let v = try? u.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), v.isRegularFile == true else { continue }
            total += Int64(v.fileSize ?? 0)
        }
        return total
    }
}

extension BlobStore {
    /// Bytes in a store's folder, without opening it as a store (which clears partial files).
    public static func bytesOnDisk(directory: String) -> Int64 { measure(URL(fileURLWithPath: directory, isDirectory: true)) }
}
