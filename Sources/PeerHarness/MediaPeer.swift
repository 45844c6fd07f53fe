import Foundation

/// A media peer on 127.0.0.1 in its own process group, started and stopped by PID: the project's
/// test Blossom server (`scripts/peers/blossom_server.py`), the scripted hostile source
/// (`hostile_media.py`) or Debian's nginx serving a folder.
public final class MediaPeer: @unchecked Sendable {
    public enum Flavor: Sendable {
        /// The test Blossom server; `arguments` are its options (`--no-mirror`, `--max-size N`, ...).
        case blossom(arguments: [String])
        case hostile
        /// nginx serving `directory` as-is (files named `<sha256>.<ext>` make a BUD-01 source).
        case nginx
    }

    public let flavor: Flavor
    public let port: Int
    /// Where the peer keeps or serves its files.
    public let directory: URL
    private let workDirectory: URL
    private let lock = NSLock()
    private var process: Process?

    public var url: String { "http://127.0.0.1:\(port)" }
    public var pid: Int32 { lock.withLock { process?.processIdentifier ?? 0 } }

    init(flavor: Flavor, port: Int, directory: URL, workDirectory: URL) {
        self.flavor = flavor
        self.port = port
        self.directory = directory
        self.workDirectory = workDirectory
    }

    public static func start(_ flavor: Flavor, directory: URL? = nil) async throws -> MediaPeer {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("relaysync-media-peer-\(UUID().uuidString)")
        let dir = directory ?? work.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // A port picked free can be taken by another test's peer before this one binds it; this
        // peer then exits, and is started again on another port.
        var attempt = 1
        while true {
            let peer = MediaPeer(flavor: flavor, port: try FreePort.pick(), directory: dir, workDirectory: work)
            if try await peer.launch(lastAttempt: attempt == 3) { return peer }
            attempt += 1
        }
    }

    /// nginx exists only where bootstrap installed Debian's nginx-light.
    public static var nginxInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") }

    /// True once the peer listens on its port; false when another process took the port first
    /// (unless `lastAttempt`, which throws instead).
    private func launch(lastAttempt: Bool) async throws -> Bool {
        let p = Process()
        var env = ProcessInfo.processInfo.environment
        switch flavor {
        case .blossom(let arguments):
            let venv = try PeerEnvironment.venv()
            env["RELAYSYNC_VENV"] = venv.path
            p.executableURL = venv.appendingPathComponent("bin/python")
            p.arguments = [PeerEnvironment.script("blossom_server.py").path, "--port", String(port), "--dir", directory.path] + arguments
        case .hostile:
            let venv = try PeerEnvironment.venv()
            p.executableURL = venv.appendingPathComponent("bin/python")
            p.arguments = [PeerEnvironment.script("hostile_media.py").path, "--port", String(port), "--dir", directory.path]
        case .nginx:
            let conf = workDirectory.appendingPathComponent("nginx.conf")
            // `user root`: the served folder may sit under a mode-700 temporary directory.
            let text = """
                daemon off;
                master_process off;
                worker_processes 1;
                user root;
                pid \(workDirectory.path)/nginx.pid;
                error_log \(workDirectory.path)/error.log warn;
                events { worker_connections 256; }
                http {
                    access_log off;
                    client_body_temp_path \(workDirectory.path)/body;
                    proxy_temp_path \(workDirectory.path)/proxy;
                    fastcgi_temp_path \(workDirectory.path)/fastcgi;
                    uwsgi_temp_path \(workDirectory.path)/uwsgi;
                    scgi_temp_path \(workDirectory.path)/scgi;
                    default_type application/octet-stream;
                    server {
                        listen 127.0.0.1:\(port);
                        root \(directory.path);
                        location /moved/ { rewrite ^/moved/(.*)$ /$1 redirect; }
                    }
                }
                """
            try text.write(to: conf, atomically: true, encoding: .utf8)
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
            p.arguments = ["-c", conf.path, "-p", workDirectory.path, "-e", workDirectory.appendingPathComponent("error.log").path]
        }
        p.environment = env
        let log = workDirectory.appendingPathComponent("peer.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        // Listening by this process: a peer of another test on the same port does not count.
        let pid = p.processIdentifier
        let ready = try await Poll.until(timeout: .seconds(20), every: .milliseconds(50)) { !p.isRunning || FreePort.isListening(port, by: pid) }
        if ready && p.isRunning { return true }
        if !lastAttempt && FreePort.isListening(port) {
            kill(-pid, SIGKILL)
            lock.withLock { process = nil }
            return false
        }
        let tail = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(1500)
        stop()
        throw PeerError("media peer did not start on port \(port):\n\(tail)")
    }

    /// Writes `data` into the served folder as `name` (nginx and the hostile source serve it).
    @discardableResult
    public func put(_ data: Data, as name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    /// SIGKILL to the process group (a test peer keeps nothing worth a graceful stop), waiting
    /// (bounded, 2 s) until its port is closed; removes its folders. Idempotent. Does not wait
    /// for Foundation to notice the exit, which can take seconds on a busy machine.
    public func stop() {
        if let p = lock.withLock({ () -> Process? in
            defer { process = nil }; return process
        }) {
            kill(-p.processIdentifier, SIGKILL)
            var polls = 0
            while FreePort.isListening(port) && polls < 200 {
                usleep(10_000)
                polls += 1
            }
        }
        try? FileManager.default.removeItem(at: workDirectory)
    }

    deinit {
        if let p = process, p.isRunning { kill(-p.processIdentifier, SIGKILL) }
    }
}
