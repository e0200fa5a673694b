import Foundation
import LatchkeyModel
import LatchkeyStore
import Logging
import PostgresNIO

/// The shared store for several replicas: one PostgreSQL database through postgres-nio's pooled client.
///
/// It keeps the SQLite store's contract to the letter: compare-and-swap writes compare in the `WHERE` clause,
/// read-then-write steps run in one transaction with the rows they read locked (`FOR UPDATE`), and constraint
/// violations become `conflict`. Every pooled connection starts with `statement_timeout` set, so a stuck query fails
/// instead of holding a connection forever.
public final class PostgresStore: LatchkeyStorage {
    let client: PostgresClient
    let logger: Logger
    /// Runs the pool until this store goes away.
    private let running: Task<Void, Never>

    /// Connects to the database at `url` (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`)
    /// and runs pending migrations, serialized across replicas by an advisory lock.
    ///
    /// - Parameters:
    ///   - schema: a schema to create (if missing) and use instead of `public` (tests give each case its own).
    ///   - statementTimeout: the longest any one statement may run.
    ///   - maximumConnections: the pool's size per replica.
    ///   - startupTimeout: how long to wait for the server (and another replica's migrations) before giving up.
    ///     Past it the pool is stopped and the start fails with `LatchkeyError` `internal_error` ("PostgreSQL did not
    ///     answer within …"), whatever error stopping the pool caused inside.
    public init(
        url: String, schema: String? = nil, statementTimeout: Duration = .seconds(10), maximumConnections: Int = 20,
        startupTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "latchkey.postgres")
    ) async throws {
        var configuration = try Self.configuration(url: url)
        let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters.append(("statement_timeout", "\(milliseconds)"))
        if let schema {
            guard schema.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }), !schema.isEmpty else {
                throw LatchkeyError(.invalidRequest, "a schema name is lower-case letters, digits and underscores", field: "schema")
            }
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        // Queries wait for `run()`, which would warn about every lease made before it starts: start it first.
        let (started, starting) = AsyncStream<Void>.makeStream()
        running = Task {
            starting.finish()
            await client.run()
        }
        for await _ in started {}
        // The pool retries an unreachable server forever; a replica that cannot reach it should say so and stop.
        let running = running
        let steps = await withTaskGroup(of: StartupStep.self, returning: [StartupStep].self) { group in
            group.addTask {
                do {
                    try await PostgresMigrations.migrate(self, schema: schema)
                    return .migrated
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                do { try await Task.sleep(for: startupTimeout) } catch { return .timerCancelled }
                // Stop the pool now: the migration's query then fails at once instead of waiting out the pool's
                // own connect retries (or another replica's migration lock).
                running.cancel()
                return .timedOut
            }
            // Whichever ends first cancels the other; both have ended when the group returns.
            var steps: [StartupStep] = []
            for await step in group {
                steps.append(step)
                group.cancelAll()
            }
            return steps
        }
        if let error = Self.startupError(steps, timeout: startupTimeout) {
            running.cancel()
            throw error
        }
    }

    /// How one side of the start-up ended: the migrations, or the start-up timer.
    enum StartupStep: Sendable {
        case migrated
        case failed(any Error)
        /// The start-up timeout passed, and the timer stopped the pool.
        case timedOut
        /// The migrations ended first, so the timer was cancelled.
        case timerCancelled
    }

    /// What a start-up whose steps ended as `steps` (in any order) throws, or nil when it succeeded.
    ///
    /// A timeout that fired wins over everything else. Stopping the pool fails the migration's waiting query with the
    /// pool's shutdown error, and does so synchronously inside `running.cancel()`: that error can end the migration's
    /// step before the timer's own step ends, so the order in which the steps end says nothing. And a migration that
    /// finished just as the timer fired leaves a stopped pool behind, which must not be handed out either.
    static func startupError(_ steps: [StartupStep], timeout: Duration) -> (any Error)? {
        var failure: (any Error)?
        for step in steps {
            switch step {
            case .timedOut: return startupTimedOut(timeout)
            case .failed(let error): failure = failure ?? error
            case .migrated, .timerCancelled: break
            }
        }
        return failure
    }

    /// The error of a start-up that did not finish within `timeout`.
    static func startupTimedOut(_ timeout: Duration) -> LatchkeyError {
        LatchkeyError(.internalError, "PostgreSQL did not answer within \(timeout) (migrations not run)")
    }

    deinit { running.cancel() }

    /// Closes the pool's connections.
    public func shutdown() async {
        running.cancel()
        await running.value
    }

    /// The applied migration identifiers, oldest first.
    public func appliedMigrations() async throws -> [String] { try await PostgresMigrations.applied(self) }

    /// The client configuration for a `postgres://` URL. Never logs the password.
    static func configuration(url: String) throws -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql",
            let host = parts.host, !host.isEmpty, let user = parts.user, !user.isEmpty
        else {
            throw LatchkeyError(.invalidRequest, "LATCHKEY_DATABASE_URL must look like postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        let tls: PostgresClient.Configuration.TLS
        switch parts.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        case let other:
            throw LatchkeyError(.invalidRequest, "sslmode \(other) is not supported: use disable, prefer or require")
        }
        return PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: parts.password.map { $0.removingPercentEncoding ?? $0 }, database: database.isEmpty ? nil : database, tls: tls)
    }

    // MARK: Running statements

    /// Runs a statement on a pooled connection and returns its rows.
    @discardableResult
    func execute(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        do {
            return try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// Runs `body` in one transaction on one connection: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (Transaction) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                let tx = Transaction(connection: connection, logger: logger)
                try await tx.execute("BEGIN")
                do {
                    let result = try await body(tx)
                    try await tx.execute("COMMIT")
                    return result
                } catch {
                    _ = try? await tx.execute("ROLLBACK")
                    throw error
                }
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// One connection inside `BEGIN … COMMIT`.
    struct Transaction: Sendable {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func execute(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
            try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
        }
    }

    /// Integrity violations (SQLSTATE class 23: unique, foreign key, check) become `conflict`, as in the SQLite store.
    static func mapped(_ error: any Error) -> any Error {
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState], state.hasPrefix("23") {
            return LatchkeyError(.conflict, "the record already exists or refers to a missing one")
        }
        return error
    }

    // MARK: Values

    static func time(_ date: Date) -> Double { date.timeIntervalSince1970 }
    static func date(_ value: Double?) -> Date? { value.map(Date.init(timeIntervalSince1970:)) }
    static func bytes(_ value: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: value) }
    static func bytes(_ value: ByteBuffer?) -> [UInt8]? { value.map { Array($0.readableBytesView) } }

    static func json(_ value: some Encodable) -> String { StoredJSON.encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? { StoredJSON.decode(type, text) }
}

extension PostgresRandomAccessRow {
    /// The value of a column, by name.
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// The value `column` must hold: a row holding NULL fails the read with `internal_error` naming the column.
    func required<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T where T._DecodableType == T {
        guard let value = try value(column, as: T?.self) else { throw LatchkeyError.malformedRow(column: column) }
        return value
    }
}

/// A WHERE clause built from optional filters, with numbered placeholders; absent values add nothing.
struct PostgresFilter: Sendable {
    private(set) var clauses: [String] = []
    private(set) var binds = PostgresBindings()

    init(_ equalities: [(column: String, value: String?)]) {
        for (column, value) in equalities {
            if let value { add("\(column) = $?", value) }
        }
    }

    /// Adds a clause whose one `$?` is the value's placeholder.
    mutating func add(_ clause: String, _ value: some PostgresDynamicTypeEncodable) {
        binds.append(value)
        clauses.append(clause.replacingOccurrences(of: "$?", with: "$\(binds.count)"))
    }

    var whereSQL: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }
}
