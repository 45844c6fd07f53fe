import Foundation
import NostrCore

/// nostr-sdk (rust-nostr) through scripts/peers/sdk_tool.py: an independent
/// signer, verifier and reference client.
public enum NostrSDKTool {
    /// `count` events signed by a fresh key, as JSON text.
    public static func sign(count: Int, kind: Int = 1, createdAt: Int64? = nil) throws -> [String] {
        var args = ["sign", "--count", String(count), "--kind", String(kind)]
        if let createdAt { args += ["--created-at", String(createdAt)] }
        return try run(args).split(separator: "\n").map(String.init)
    }

    /// nostr-sdk's verdict (id and signature) on each event.
    public static func verify(_ eventJSON: [String]) throws -> [Bool] {
        try run(["verify"], input: eventJSON.joined(separator: "\n") + "\n").split(separator: "\n").map { $0 == "ok" }
    }

    public struct PublishResult: Sendable { public let accepted: Int; public let seconds: Double }

    public static func publish(_ eventJSON: [String], to url: RelayURL) throws -> PublishResult {
        let out = try run(["publish", url.normalized], input: eventJSON.joined(separator: "\n") + "\n")
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
        return PublishResult(accepted: obj["accepted"] as? Int ?? 0, seconds: obj["seconds"] as? Double ?? 0)
    }

    public struct FetchResult: Sendable { public let count: Int; public let seconds: Double }

    public static func fetch(_ url: RelayURL, filterJSON: String) throws -> FetchResult {
        let out = try run(["fetch", url.normalized, filterJSON])
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
        return FetchResult(count: obj["count"] as? Int ?? 0, seconds: obj["seconds"] as? Double ?? 0)
    }

    static func run(_ args: [String], input: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = try PeerEnvironment.venv().appendingPathComponent("bin/python")
        p.arguments = [PeerEnvironment.script("sdk_tool.py").path] + args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let input {
            let data = Data(input.utf8)
            DispatchQueue.global().async {
                inp.fileHandleForWriting.write(data)
                try? inp.fileHandleForWriting.close()
            }
        } else {
            try? inp.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw PeerError("sdk_tool.py \(args.first ?? "") failed: \(String(decoding: errData, as: UTF8.self).suffix(800))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
