import Foundation
import LatchkeyModel
import LatchkeyStore
import LatchkeyStoreMemory
import LatchkeyStorePostgres
import Logging
import LatchkeyStoreSQLite
import Testing

/// A store that can also be seeded with many connections in one step (every engine has it; not part of the protocol).
protocol SeedableStorage: LatchkeyStorage {
    /// Inserts many connections in one transaction, all or none.
    func insert(_ batch: [StoredConnection]) async throws
}

/// A SQL store, which can also list its applied migrations (each engine keeps its own migration table).
protocol MigratedStorage: SeedableStorage {
    /// The applied migration identifiers, oldest first.
    func appliedMigrations() async throws -> [String]
}

extension MemoryStore: SeedableStorage {}
extension SQLiteStore: MigratedStorage {}
extension PostgresStore: MigratedStorage {}

/// The engines the store contract runs against: the in-memory store and SQLite always, PostgreSQL when
/// `LATCHKEY_TEST_POSTGRES_URL` names a database (`make test` starts a throwaway one and sets it).
enum StoreEngine: String, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case postgres

    static var available: [StoreEngine] { [.memory] + sql }

    /// The engines with a database behind them: migrations and what else only a database has.
    static var sql: [StoreEngine] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

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

    /// A fresh, empty store that no other test sees (migrated, for a SQL engine).
    func makeStore() async throws -> any SeedableStorage {
        switch self {
        case .memory:
            return MemoryStore()
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

    /// Two stores on one fresh database, as two processes (or replicas) would open it: the second finds it migrated.
    func makeStoresSharingOneDatabase() async throws -> (any MigratedStorage, any MigratedStorage) {
        switch self {
        case .memory:
            throw LatchkeyError(.invalidRequest, "the in-memory store cannot be shared")
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let path = dir.appendingPathComponent("test.db").path
            return (try SQLiteStore(path: path), try SQLiteStore(path: path))
        case .postgres:
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let first = try await PostgresStore(url: Self.postgresURL!, schema: schema, maximumConnections: 4, logger: Self.logger)
            return (first, try await PostgresStore(url: Self.postgresURL!, schema: schema, maximumConnections: 4, logger: Self.logger))
        }
    }

    /// A fresh, empty, migrated store of a SQL engine (one of ``sql``).
    func makeMigratedStore() async throws -> any MigratedStorage {
        try #require(try await makeStore() as? any MigratedStorage, "\(self) has no migrations")
    }
}
