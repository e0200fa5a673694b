import Foundation
import LatchkeyStore
import LatchkeyStorePostgres
import Logging
import LatchkeyStoreSQLite
import Testing

/// A store that can also list its applied migrations (each engine keeps its own migration table).
protocol MigratedStorage: LatchkeyStorage {
    /// The applied migration identifiers, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Inserts many connections in one transaction (both engines have it, for seeding; not part of the protocol).
    func insert(_ batch: [StoredConnection]) async throws
}

extension SQLiteStore: MigratedStorage {}
extension PostgresStore: MigratedStorage {}

/// The engines the store contract runs against: SQLite always, PostgreSQL when `LATCHKEY_TEST_POSTGRES_URL` names a
/// database (`make test` starts a throwaway one and sets it).
enum StoreEngine: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var available: [StoreEngine] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["LATCHKEY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var testDescription: String { rawValue }

    /// Warnings and worse: a pool closing at the end of a test logs, at info, the connection attempts it cancelled.
    static let logger: Logger = {
        var logger = Logger(label: "latchkey.postgres.test")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh, empty, migrated store that no other test sees.
    func makeStore() async throws -> any MigratedStorage {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return try SQLiteStore(path: dir.appendingPathComponent("test.db").path)
        case .postgres:
            // A schema of its own per test: tests run in parallel against one database and never see each other's rows.
            // The pool closes when the store is released at the end of the test.
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            return try await PostgresStore(url: Self.postgresURL!, schema: schema, maximumConnections: 4, logger: Self.logger)
        }
    }
}
