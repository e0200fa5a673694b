import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO
import Testing

@testable import LatchkeyStorePostgres

/// What only the PostgreSQL store has: replicas migrating at once, the statement timeout, the URL.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    func freshSchema() -> String { "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }

    @Test(.enabled(if: StoreEngine.postgresURL != nil))
    func replicasStartingTogetherApplyEachMigrationOnce() async throws {
        let schema = freshSchema()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<6 {
                group.addTask { try await PostgresStore(url: StoreEngine.postgresURL!, schema: schema, maximumConnections: 2, logger: StoreEngine.logger) }
            }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        let applied = try await stores[0].appliedMigrations()
        #expect(applied.count == PostgresMigrations.all.count && applied == PostgresMigrations.all.map(\.id))
        // A later start finds nothing to do.
        let again = try await PostgresStore(url: StoreEngine.postgresURL!, schema: schema, maximumConnections: 1, logger: StoreEngine.logger)
        #expect(try await again.appliedMigrations() == applied)
    }

    @Test(.enabled(if: StoreEngine.postgresURL != nil))
    func replicasRacingForOneLeaseOrOneStateGetItOnce() async throws {
        let schema = freshSchema()
        var replicas: [PostgresStore] = []
        for _ in 0..<3 {
            replicas.append(try await PostgresStore(url: StoreEngine.postgresURL!, schema: schema, maximumConnections: 4, logger: StoreEngine.logger))
        }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let agent = try OwnerRef(parsing: "org:acme")
        try await replicas[0].createOwner(agent, at: now)
        let c = Connection(id: .random(), provider: "github", owner: agent, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        try await replicas[0].insert(c, sealedCredential: [1])
        try await replicas[1].createState(AuthorizationState(
            stateHash: "st", sessionTokenHash: "s", provider: "github", owner: agent, sealedVerifier: nil, browserBindingHash: "b",
            scopes: [], config: [:], createdAt: now, expiresAt: now + 600))
        let (leases, states) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<60 {
                let replica = replicas[i % 3]
                group.addTask {
                    let lease = try await replica.acquireRefreshLease(c.id, holder: "r\(i)", now: now, ttl: 30)
                    let state = try await replica.consumeState(hash: "st")
                    return (lease == nil ? 0 : 1, state == nil ? 0 : 1)
                }
            }
            return try await group.reduce(into: (0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1) }
        }
        #expect(leases == 1 && states == 1)
    }

    @Test(.enabled(if: StoreEngine.postgresURL != nil))
    func aStatementRunningPastTheTimeoutIsCancelled() async throws {
        let store = try await PostgresStore(
            url: StoreEngine.postgresURL!, schema: freshSchema(), statementTimeout: .milliseconds(300), maximumConnections: 1,
            logger: StoreEngine.logger)
        // Only the statement timeout can end this statement: PostgreSQL cancels it with SQLSTATE 57014.
        let error = await #expect(throws: PSQLError.self) { try await store.execute("SELECT pg_sleep(3600)") }
        #expect(error?.serverInfo?[.sqlState] == "57014")
        // The connection is still usable afterwards.
        #expect(try await store.execute("SELECT 1 AS one").first?.value("one", as: Int.self) == 1)
    }

    @Test func aServerThatNeverAnswersFailsTheStartInTime() async throws {
        // Port 1 on loopback refuses every connection; the pool would retry it forever.
        let error = await #expect(throws: LatchkeyError.self) {
            try await PostgresStore(url: "postgres://nobody@127.0.0.1:1/none?sslmode=disable", startupTimeout: .seconds(1), logger: StoreEngine.logger)
        }
        // Nothing but the start-up timeout ends this start, and the caller gets its error, not the pool-shutdown error
        // that stopping the pool causes inside.
        #expect(error == PostgresStore.startupTimedOut(.seconds(1)))
    }

    /// What the start-up ended with, for the table below.
    enum StartupOutcome: Sendable {
        case timedOut, migrationFailed, started
    }

    struct MigrationFailed: Error {}

    @Test(arguments: [
        ([PostgresStore.StartupStep.failed(MigrationFailed()), .timedOut], StartupOutcome.timedOut),
        ([.timedOut, .failed(MigrationFailed())], .timedOut),
        ([.migrated, .timedOut], .timedOut),
        ([.timedOut, .migrated], .timedOut),
        ([.failed(MigrationFailed()), .timerCancelled], .migrationFailed),
        ([.migrated, .timerCancelled], .started),
    ])
    func aStartupTimeoutThatFiredDecidesTheStartInWhicheverOrderTheStepsEnd(steps: [PostgresStore.StartupStep], outcome: StartupOutcome) {
        let error = PostgresStore.startupError(steps, timeout: .seconds(1))
        switch outcome {
        case .timedOut: #expect(error as? LatchkeyError == PostgresStore.startupTimedOut(.seconds(1)))
        case .migrationFailed: #expect(error is MigrationFailed)
        case .started: #expect(error == nil)
        }
    }

    @Test(arguments: [
        ("postgres://latchkey@db.internal:6543/latchkey?sslmode=disable", true),
        ("postgresql://u:p%40ss@127.0.0.1/app", true),
        ("postgres://127.0.0.1/app", false),  // no user
        ("mysql://u@host/db", false),
        ("postgres://u@host/db?sslmode=verify-full", false),
    ])
    func databaseURLsAreReadOrRefused(url: String, valid: Bool) throws {
        if valid {
            let configuration = try PostgresStore.configuration(url: url)
            #expect(configuration.host != nil && !configuration.username.isEmpty)
        } else {
            #expect(throws: LatchkeyError.self) { try PostgresStore.configuration(url: url) }
        }
    }

    @Test func aDatabaseURLKeepsItsParts() throws {
        let configuration = try PostgresStore.configuration(url: "postgres://u:p%40ss@db.internal:6543/latchkey?sslmode=disable")
        #expect(configuration.host == "db.internal" && configuration.port == 6543)
        #expect(configuration.username == "u" && configuration.password == "p@ss" && configuration.database == "latchkey")
    }
}
