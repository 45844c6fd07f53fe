import ArgumentParser
import Foundation
import NostrCore
import SyncAgent

extension RelaySyncCommand {
    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "Create or inspect the secret key used to answer NIP-42 AUTH (secret_key_file).",
            subcommands: [Generate.self, Show.self]
        )
    }
}

/// A refusal printed as one line (`Error: …`), without the usage text a ValidationError adds:
/// exit 78 for a key file that cannot be used, 64 for one `generate` will not replace, 1 when writing failed.
struct KeyFileError: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32
    init(_ description: String, exitCode: Int32 = ExitStatus.failure) {
        self.description = description
        self.exitCode = exitCode
    }
}

extension RelaySyncCommand.Key {
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a new secret key (nsec1…) to a file with mode 0600 and print its npub.",
            discussion: "Refuses to replace an existing file unless --force is given (the old key is then lost). Point secret_key_file at the file."
        )

        @Option(help: "The key file to write.") var out: String
        @Flag(help: "Replace an existing file.") var force = false

        func run() async throws {
            let key = SecretKey.generate()
            try KeyFile.write(key.nsec + "\n", to: out, replacing: force)
            FileHandle.standardError.write(Data("wrote a new secret key to \(out) (mode 600); its public key:\n".utf8))
            print(NIP19.encode(.npub(key.publicKey)))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the npub of a key file (nsec1… or 64 hex characters).",
            discussion: "Refuses a file that group or other users can read, as the daemon does."
        )

        @Argument(help: "The key file.") var file: String

        func run() async throws {
            print(NIP19.encode(.npub(try KeyFile.read(file).publicKey)))
        }
    }
}

enum KeyFile {
    /// Creates `path` with mode 0600 holding `text`. With `replacing`, an existing file is replaced
    /// atomically (a new 0600 file renamed over it); without, an existing file is an error.
    static func write(_ text: String, to path: String, replacing: Bool) throws {
        let target = URL(fileURLWithPath: path)
        if !replacing, FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
            throw KeyFileError("\(path) already exists; pass --force to replace it (the key it holds is lost)", exitCode: ExitStatus.usage)
        }
        let temporary = replacing ? target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(getpid()).tmp").path : path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            throw errno == EEXIST
                ? KeyFileError("\(path) already exists; pass --force to replace it (the key it holds is lost)", exitCode: ExitStatus.usage)
                : KeyFileError("cannot create \(temporary): \(why)")
        }
        var ok = fchmod(fd, 0o600) == 0  // in case the umask or an ACL default interfered
        let bytes = Array(text.utf8)
        ok = ok && bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) } == bytes.count
        ok = ok && fsync(fd) == 0
        let why = String(cString: strerror(errno))
        close(fd)
        guard ok else {
            unlink(temporary)
            throw KeyFileError("cannot write \(temporary): \(why)")
        }
        if replacing, rename(temporary, path) != 0 {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw KeyFileError("cannot replace \(path): \(why)")
        }
    }

    /// Reads a key file, refusing one that group or other users can read, as the daemon does
    /// (the same checks and words as `secret_key_file`).
    static func read(_ path: String) throws -> SecretKey {
        var configuration = SyncConfiguration.parseForKeyOnly()
        configuration.secretKeyFile = URL(fileURLWithPath: path).standardizedFileURL
        let key: SecretKey?
        do { key = try configuration.loadSecretKey(environment: [:]) } catch { throw KeyFileError(error.reason, exitCode: ExitStatus.config) }
        guard let key else { throw KeyFileError("\(path): no key", exitCode: ExitStatus.config) }
        return key
    }
}
