import GRDB
import PostgresNIO
import Testing

@testable import LatchkeyStorePostgres
@testable import LatchkeyStoreSQLite

/// A SQL store that a test also reaches around its API, as another program or an older Latchkey would: to damage a
/// row, or to take a migration back and run it again.
protocol RawSQLStorage: MigratedStorage {
    /// Runs `statements` in order, outside the store's API.
    func executeRaw(_ statements: String...) async throws
    /// The same, from an array.
    func executeRaw(_ statements: [String]) async throws
    /// Forgets that migration `id` was applied; what it created must be dropped first.
    func forgetMigration(_ id: String) async throws
    /// Applies the pending migrations, as the next start would.
    func migrate() async throws
}

extension RawSQLStorage {
    func executeRaw(_ statements: String...) async throws { try await executeRaw(statements) }
}

extension SQLiteStore: RawSQLStorage {
    func executeRaw(_ statements: [String]) async throws {
        try await pool.write { db in
            for statement in statements { try db.execute(sql: statement) }
        }
    }

    func forgetMigration(_ id: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [id]) }
    }

    func migrate() async throws { try SQLiteMigrations.migrator().migrate(pool) }
}

extension PostgresStore: RawSQLStorage {
    func executeRaw(_ statements: [String]) async throws {
        for statement in statements { try await execute(PostgresQuery(unsafeSQL: statement)) }
    }

    func forgetMigration(_ id: String) async throws {
        try await execute("DELETE FROM latchkey_migrations WHERE id = \(id)")
    }

    // The connections' search path already names the test's schema.
    func migrate() async throws { try await PostgresMigrations.migrate(self, schema: nil) }
}

extension StoreEngine {
    /// A fresh, empty, migrated store of a SQL engine that the test can also reach with raw SQL.
    func makeRawSQLStore() async throws -> any RawSQLStorage {
        try #require(try await makeStore() as? any RawSQLStorage, "\(self) takes no raw SQL")
    }
}
