import ArgumentParser
import Foundation
import Media
import NIOPosix

extension RelaySyncCommand.Restore {
    /// `restore --media-to URL STORE`: every blob of the store, re-hashed, into a Blossom server.
    func restoreMedia(to server: String) async throws {
        guard let c = URLComponents(string: server), c.scheme == "http" || c.scheme == "https", c.host?.isEmpty == false else {
            throw ValidationError("--media-to: not an http:// or https:// URL")
        }
        guard paths.count == 1, let folder = paths.first else { throw ValidationError("--media-to takes one media store folder") }
        guard FileManager.default.fileExists(atPath: folder) else { throw ValidationError("\(folder): no such folder") }
        guard let signer = try key.load() else {
            throw ValidationError("--media-to needs a key to sign uploads with (--key-file or RELAYSYNC_SECRET_KEY)")
        }
        let store = try BlobStore(directory: folder)
        let restore = MediaRestore(
            store: store, server: server, authorizer: BlossomAuthorizer(key: signer), journal: journal.map { URL(fileURLWithPath: $0) })
        let report = try await restore.run(group: MultiThreadedEventLoopGroup.singleton)
        if json {
            printJSON(report)
        } else {
            print(report.text)
        }
        if !report.succeeded { throw ExitCode(ExitStatus.failure) }
    }
}
