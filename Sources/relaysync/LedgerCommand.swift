import ArgumentParser
import Foundation
import Ledger
import LedgerPostgres
import Logging

extension RelaySyncCommand {
    struct LedgerCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "Move a ledger between stores.",
            subcommands: [Copy.self]
        )
    }
}

extension RelaySyncCommand.LedgerCommand {
    /// `ledger copy --from PATH.sqlite --to postgres://…`: resumable, verified by counts.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy a SQLite ledger into a PostgreSQL ledger, resumably, and verify it by counts.",
            discussion: """
                Stop the agent first: a ledger held by a running agent is refused. Interrupted, the copy \
                continues where it stopped when run again, and never copies a row twice. Prints one line \
                per table (SQLite count, PostgreSQL count); exits 1 when they differ.
                """
        )

        @Option(help: ArgumentHelp("The SQLite ledger to copy.", valueName: "path"))
        var from: String

        @Option(help: ArgumentHelp("The PostgreSQL ledger: postgres://USER@HOST[:PORT]/DATABASE.", valueName: "url"))
        var to: String

        @Option(help: ArgumentHelp("A file holding the PostgreSQL role's password.", valueName: "file"))
        var passwordFile: String?

        @Option(help: ArgumentHelp("The CA certificate (PEM) that signs the server's: TLS is then required.", valueName: "file"))
        var tlsCAFile: String?

        @Option(help: ArgumentHelp("Rows per transaction.", valueName: "n"))
        var batchSize = 1_000

        @Option(help: ArgumentHelp("Stop after this many batches (copy in steps; run again to continue).", valueName: "n"))
        var maxBatches: Int?

        func run() async throws {
            guard batchSize >= 1 && batchSize <= 5_000 else { throw CLIError.usage("--batch-size must be in 1...5000") }
            if let maxBatches, maxBatches < 1 { throw CLIError.usage("--max-batches must be at least 1") }
            var settings: PostgresLedgerSettings
            do {
                settings = try PostgresLedgerSettings.parse(url: to)
            } catch {
                throw CLIError.usage("--to: \(error.reason)")
            }
            if let passwordFile {
                guard FileManager.default.isReadableFile(atPath: passwordFile) else { throw CLIError.usage("--password-file: cannot read \(passwordFile)") }
                settings.passwordFile = URL(fileURLWithPath: passwordFile)
            }
            if let tlsCAFile {
                guard FileManager.default.isReadableFile(atPath: tlsCAFile) else { throw CLIError.usage("--tls-ca-file: cannot read \(tlsCAFile)") }
                settings.tlsCAFile = URL(fileURLWithPath: tlsCAFile)
            }
            let sourcePath = URL(fileURLWithPath: from).standardizedFileURL.path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: sourcePath, isDirectory: &isDir), !isDir.boolValue else {
                throw CLIError.usage("--from: \(from): no such ledger file")
            }
            // Held for the whole copy: no agent writes to the source meanwhile.
            let lock: LedgerLock
            do {
                lock = try LedgerLock.acquire(ledgerPath: sourcePath)
            } catch {
                throw CLIError.failure(error.description + ": stop it before copying")
            }
            let source: Ledger
            do {
                source = try Ledger(path: sourcePath)
            } catch {
                throw CLIError.failure("--from: \(error)")
            }
            let destination: PostgresLedger
            do {
                // The pool's own notices are not the copy's output: what fails is thrown, one line.
                var logger = Logger(label: "relaysync.ledger.copy")
                logger.logLevel = .error
                destination = try await PostgresLedger.open(settings, logger: logger)
            } catch {
                throw CLIError.failure("--to: \(error.description)")
            }
            let outcome: LedgerCopy.Outcome
            do {
                let copy = LedgerCopy(source: source, sourceID: sourcePath, destination: destination, batchSize: batchSize, maxBatches: maxBatches)
                let foreign = try await copy.foreignEvents()
                guard foreign == 0 else {
                    throw CLIError.failure(
                        "--to: \(settings.displayURL) already holds \(foreign) events not copied from \(sourcePath): copy into a new database")
                }
                outcome = try await copy.run()
                await destination.close()
            } catch {
                await destination.close()
                if let e = error as? CLIError { throw e }
                throw CLIError.failure("ledger copy: \(error)")
            }
            withExtendedLifetime(lock) {}
            let copied = outcome.copied.values.reduce(0, +)
            guard outcome.finished else {
                print("stopped after \(outcome.batches) batches (\(copied) rows copied): run the same command again to continue")
                return
            }
            for check in outcome.checks {
                print("\(check.table): sqlite \(check.source), postgres \(check.destination)\(check.matches ? "" : "  MISMATCH")")
            }
            let mismatched = outcome.checks.filter { !$0.matches }.map(\.table)
            guard mismatched.isEmpty else {
                throw CLIError.failure("ledger copy: counts differ for \(mismatched.joined(separator: ", ")): the destination is not a copy of \(sourcePath)")
            }
            print("copied \(copied) rows in \(outcome.batches) batches; \(settings.displayURL) matches \(sourcePath)")
        }
    }
}
