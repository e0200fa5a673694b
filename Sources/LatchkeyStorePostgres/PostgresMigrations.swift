import Foundation
import PostgresNIO

/// The PostgreSQL schema, as append-only migrations named like the SQLite store's. A shipped migration is never edited.
///
/// Several replicas may start at once: all of them run `migrate`, and a transaction-scoped advisory lock (keyed by the
/// schema) lets one apply what is missing while the others wait, then find nothing left to do. DDL is transactional in
/// PostgreSQL, so a migration that fails leaves nothing half-applied.
enum PostgresMigrations {
    /// Every migration, in order, as statements: wave 1's spine, then wave 2's, then the change log.
    static var all: [(id: String, statements: [String])] {
        // The extended protocol takes one statement at a time; these migrations hold no `;` inside literals.
        (spine + waveTwo).map { migration in
            (migration.id, migration.sql.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty })
        } + changeLog
    }

    /// The migration after which the events written before it are chained, in Swift, in its transaction.
    static let chainsMigration = "v20: the audit log's hash chains"

    /// Applies every migration not yet recorded, in order, under the schema's advisory lock.
    /// - Parameter schema: the schema to create first when the store uses one of its own; nil for the search path's.
    static func migrate(_ store: PostgresStore, schema: String?) async throws {
        try await store.transaction { tx in
            // A migration (an index on a big table) or the wait for another replica's may outlast the per-statement
            // timeout meant for requests; this transaction alone runs without it.
            try await tx.execute("SET LOCAL statement_timeout = 0")
            // Transaction-scoped: released by COMMIT or ROLLBACK, even when this replica dies mid-way. Taken before
            // anything else, as even `CREATE SCHEMA IF NOT EXISTS` fails (unique violation) when two run at once.
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtext(\("latchkey.migrations." + (schema ?? ""))))")
            if let schema { try await tx.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)")) }
            try await tx.execute(
                """
                CREATE TABLE IF NOT EXISTS latchkey_migrations (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(try await tx.execute("SELECT id FROM latchkey_migrations").map { try $0.value("id", as: String.self) })
            for migration in all where !applied.contains(migration.id) {
                for statement in migration.statements {
                    try await tx.execute(PostgresQuery(unsafeSQL: statement))
                }
                if migration.id == chainsMigration { try await PostgresStore.chainAuditBacklog(in: tx) }
                try await tx.execute("INSERT INTO latchkey_migrations (id) VALUES (\(migration.id))")
            }
        }
    }

    /// The applied migration identifiers, oldest first.
    static func applied(_ store: PostgresStore) async throws -> [String] {
        try await store.execute("SELECT id FROM latchkey_migrations ORDER BY seq").map { try $0.value("id", as: String.self) }
    }
}
