import ArgumentParser
import Foundation
import LatchkeyModel
import LatchkeyStoreSQLite

/// `latchkey admin backup PATH`: a consistent copy of the embedded SQLite database, taken while the server runs.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the embedded SQLite database to PATH while Latchkey serves (SQLite's online backup); PostgreSQL: use pg_dump.",
        discussion: """
            Run it on the machine that holds the database, with the same configuration as `latchkey serve`. The copy is \
            checked and written 0600; it holds sealed credentials only, so keep the master key file (or LATCHKEY_MASTER_KEYS) \
            apart from it: restoring needs both. To restore, stop Latchkey, put the copy where database_url points (or point \
            database_url at it) with the same master keys, and start it; `latchkey admin keys verify` then opens every credential.
            """)

    @Argument(help: "Where to write the copy (replaced atomically when it exists).") var path: String
    @Option(help: "Configuration file (default: config/latchkey.yaml, or LATCHKEY_CONFIG)") var config: String?

    func run() throws {
        let settings = try ServiceConfiguration.load(path: config, environment: ProcessInfo.processInfo.environment)
        guard let source = settings.sqlitePath else {
            FileHandle.standardError.write(Data("latchkey: the database is PostgreSQL: back it up with pg_dump (see the README)\n".utf8))
            throw ExitCode(1)
        }
        do {
            let report = try SQLiteBackup.copy(databaseAt: source, to: path)
            print("backed up \(source) to \(path): \(report.bytes) bytes, \(report.connections) connection(s), \(report.auditEvents) audit event(s)")
        } catch let error as LatchkeyError {
            FileHandle.standardError.write(Data("latchkey: \(error.code.rawValue): \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }
}
