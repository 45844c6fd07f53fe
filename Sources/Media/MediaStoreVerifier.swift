import Foundation

/// `archive verify --media DIR`: every blob file of a store re-hashed against its name, without
/// opening the store (opening clears partial files; verifying changes nothing).
public enum MediaStoreVerifier {
    public struct Report: Sendable, Codable, Equatable {
        public var directory: String
        public var blobs = 0
        public var bytes: Int64 = 0
        /// Files whose SHA-256 is not their name.
        public var damaged: [String] = []
        /// Files that are not blobs in their place (a partial file from a crash, a stray name).
        public var strays: [String] = []

        public var isClean: Bool { damaged.isEmpty }

        public var text: String {
            var lines = ["media \(directory): \(blobs) blobs, \(bytes) bytes, \(damaged.count) damaged, \(strays.count) other files"]
            for d in damaged { lines.append("  DAMAGED \(d)") }
            for s in strays.prefix(20) { lines.append("  other file \(s)") }
            return lines.joined(separator: "\n")
        }
    }

    public static func verify(directory: String) -> Report {
        var report = Report(directory: directory)
        let root = URL(fileURLWithPath: directory, isDirectory: true)
        let fm = FileManager.default
        for top in ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted() {
            let dir = root.appendingPathComponent(top)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                if !top.hasPrefix(".restore-") { report.strays.append(top) }
                continue
            }
            for name in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                let path = dir.appendingPathComponent(name).path
                guard let hash = BlobHash(name), hash.shard == top, hash.hex == name else {
                    report.strays.append("\(top)/\(name)")
                    continue
                }
                report.blobs += 1
                report.bytes += (try? fm.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
                if MediaWorker.sha256(ofFile: path) != name { report.damaged.append("\(top)/\(name)") }
            }
        }
        return report
    }
}
