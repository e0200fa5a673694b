import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

/// The embedded store: one SQLite file (WAL mode) through the system's libsqlite3.
///
/// GRDB runs every statement on its own serial queues, so callers on Hummingbird's event loops
/// only suspend; they never block.
public final class SQLiteStore: LatchkeyStorage {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try SQLiteMigrations.migrator().migrate(pool)
    }

    /// The applied migration identifiers, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in try SQLiteMigrations.migrator().appliedMigrations(db) }
    }

    static func time(_ date: Date) -> Double { date.timeIntervalSince1970 }
    static func date(_ value: Double?) -> Date? { StoredTime.date(value) }

    /// The time in `column`, which the row must hold. A row holding something else (edited by hand, or damaged) fails
    /// the read with `internal_error` naming the column, where GRDB's typed subscript would stop the process.
    static func time(_ row: Row, _ column: String) throws(LatchkeyError) -> Date {
        try StoredTime.required(Double.fromDatabaseValue(row[column] as DatabaseValue), column)
    }

    /// The time in `column`, or nil when it is NULL; anything else that is not a time fails the read as ``time(_:_:)``.
    static func optionalTime(_ row: Row, _ column: String) throws(LatchkeyError) -> Date? {
        let value = row[column] as DatabaseValue
        if value.isNull { return nil }
        return try time(row, column)
    }

    static func json(_ value: some Encodable) -> String { StoredJSON.encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? { StoredJSON.decode(type, text) }

    /// Runs a write, turning constraint violations into `conflict`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw LatchkeyError(.conflict, "the record already exists or refers to a missing one")
        }
    }
}

/// A WHERE clause built from optional equality filters; absent values add nothing.
struct Filter: Sendable {
    private(set) var clauses: [String] = []
    private(set) var arguments: [any DatabaseValueConvertible & Sendable] = []

    init(_ equalities: [(column: String, value: String?)]) {
        for (column, value) in equalities {
            if let value { add("\(column) = ?", value) }
        }
    }

    mutating func add(_ clause: String, _ value: any DatabaseValueConvertible & Sendable) {
        clauses.append(clause)
        arguments.append(value)
    }

    /// Appends a LIMIT value after the filters' own (the SQL names it after the WHERE clause).
    mutating func limit(_ n: Int) { arguments.append(n) }

    var whereSQL: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }
}

// MARK: - Identities

extension SQLiteStore {
    public func createOwner(_ owner: OwnerRef, at: Date) async throws {
        try await pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM owners WHERE ref = ?", arguments: [owner.description]) == true {
                throw LatchkeyError(.conflict, "\(owner) already exists", field: "id")
            }
            if let parent = owner.parent,
                try Bool.fetchOne(db, sql: "SELECT 1 FROM owners WHERE ref = ?", arguments: [parent.description]) != true
            {
                throw LatchkeyError(.notFound, "\(parent) does not exist", field: parent.kind.rawValue)
            }
            try db.execute(
                sql: "INSERT INTO owners (ref, kind, org, parent, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [owner.description, owner.kind.rawValue, owner.org, owner.parent?.description, Self.time(at)])
        }
    }

    public func ownerExists(_ owner: OwnerRef) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM owners WHERE ref = ?", arguments: [owner.description]) == true
        }
    }

    public func owners(kind: OwnerRef.Kind, org: String) async throws -> [OwnerRef] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT ref FROM owners WHERE org = ? AND kind = ? ORDER BY ref", arguments: [org, kind.rawValue])
                .compactMap { try? OwnerRef(parsing: $0) }
        }
    }

    public func addAgentKey(hash: String, agent: OwnerRef, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO agent_keys (key_hash, agent, created_at) VALUES (?, ?, ?)",
                arguments: [hash, agent.description, Self.time(at)])
        }
    }

    public func agent(forKeyHash hash: String) async throws -> OwnerRef? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT agent FROM agent_keys WHERE key_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .flatMap { try? OwnerRef(parsing: $0) }
        }
    }

    public func revokeAgentKeys(agent: OwnerRef, at: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE agent_keys SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL",
                arguments: [Self.time(at), agent.description])
            return db.changesCount
        }
    }

    public func markOwnerRevoked(_ owner: OwnerRef, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE owners SET revoked_at = MAX(COALESCE(revoked_at, 0), ?) WHERE ref = ?",
                arguments: [Self.time(at), owner.description])
        }
    }

    public func latestRevocation(of owners: [OwnerRef]) async throws -> Date? {
        guard !owners.isEmpty else { return nil }
        let refs = owners.map(\.description)
        return try await pool.read { db in
            try Double.fetchOne(
                db, sql: "SELECT MAX(revoked_at) FROM owners WHERE ref IN (\(databaseQuestionMarks(count: refs.count)))",
                arguments: StatementArguments(refs))
        }.flatMap { Self.date($0) }
    }
}

// MARK: - Data keys

extension SQLiteStore {
    public func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT key_version, ciphertext FROM data_keys WHERE owner = ?", arguments: [owner.description])
                .map { WrappedDataKeyRecord(owner: owner, keyVersion: $0["key_version"], ciphertext: Array($0["ciphertext"] as Data)) }
        }
    }

    public func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO data_keys (owner, key_version, ciphertext) VALUES (?, ?, ?) ON CONFLICT (owner) DO NOTHING",
                arguments: [key.owner.description, key.keyVersion, Data(key.ciphertext)])
            let row = try Row.fetchOne(db, sql: "SELECT key_version, ciphertext FROM data_keys WHERE owner = ?", arguments: [key.owner.description])!
            return WrappedDataKeyRecord(owner: key.owner, keyVersion: row["key_version"], ciphertext: Array(row["ciphertext"] as Data))
        }
    }

    public func deleteDataKey(for owner: OwnerRef) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM data_keys WHERE owner = ?", arguments: [owner.description])
            return db.changesCount > 0
        }
    }

    public func dataKeyCounts() async throws -> [Int: Int] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key_version, COUNT(*) AS n FROM data_keys GROUP BY key_version")
                .reduce(into: [Int: Int]()) { $0[$1["key_version"]] = $1["n"] }
        }
    }

    public func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        try await pool.read { db in
            // Walks the (key_version, owner) index: older versions sort first, so a batch stops early.
            try Row.fetchAll(
                db, sql: "SELECT owner, key_version, ciphertext FROM data_keys WHERE key_version <> ? ORDER BY key_version, owner LIMIT ?",
                arguments: [version, limit]
            ).compactMap { row in
                guard let owner = try? OwnerRef(parsing: row["owner"]) else { return nil }
                return WrappedDataKeyRecord(owner: owner, keyVersion: row["key_version"], ciphertext: Array(row["ciphertext"] as Data))
            }
        }
    }

    public func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int {
        guard !replacements.isEmpty else { return 0 }
        return try await pool.write { db in
            var replaced = 0
            for r in replacements {
                try db.execute(
                    sql: "UPDATE data_keys SET key_version = ?, ciphertext = ? WHERE owner = ? AND key_version = ? AND ciphertext = ?",
                    arguments: [
                        r.replacement.keyVersion, Data(r.replacement.ciphertext), r.expected.owner.description, r.expected.keyVersion,
                        Data(r.expected.ciphertext),
                    ])
                replaced += db.changesCount
            }
            return replaced
        }
    }
}

// MARK: - Apps

extension SQLiteStore {
    public func putApp(_ app: AppRegistration) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO apps (provider, owner, client_id, client_secret, scopes, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (provider, owner) DO UPDATE SET client_id = excluded.client_id,
                        client_secret = excluded.client_secret, scopes = excluded.scopes, updated_at = excluded.updated_at
                    """,
                arguments: [
                    app.provider.rawValue, app.owner.description, app.clientID, app.sealedClientSecret.map { Data($0) },
                    Self.json(app.scopes), Self.time(app.updatedAt),
                ])
        }
    }

    public func allApps(owner: OwnerRef) async throws -> [AppRegistration] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM apps WHERE owner = ?", arguments: [owner.description]).compactMap(Self.app)
        }
    }

    public func apps(provider: ProviderID) async throws -> [AppRegistration] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM apps WHERE provider = ? ORDER BY updated_at, owner", arguments: [provider.rawValue])
                .compactMap(Self.app)
        }
    }

    public func apps(provider: ProviderID, owners: [OwnerRef]) async throws -> [AppRegistration] {
        guard !owners.isEmpty else { return [] }
        return try await pool.read { db in
            let marks = Array(repeating: "?", count: owners.count).joined(separator: ", ")
            var args: [any DatabaseValueConvertible] = [provider.rawValue]
            args += owners.map(\.description)
            return try Row.fetchAll(
                db, sql: "SELECT * FROM apps WHERE provider = ? AND owner IN (\(marks))", arguments: StatementArguments(args)
            ).compactMap(Self.app)
        }
    }

    static func app(_ row: Row) throws -> AppRegistration? {
        guard let owner = try? OwnerRef(parsing: row["owner"]) else { return nil }
        return AppRegistration(
            provider: ProviderID(row["provider"] as String), owner: owner, clientID: row["client_id"],
            sealedClientSecret: (row["client_secret"] as Data?).map { Array($0) },
            scopes: decode([String].self, row["scopes"]) ?? [], updatedAt: try Self.time(row, "updated_at"))
    }
}

// MARK: - Connections

extension SQLiteStore {
    static func connectionArguments(_ c: Connection, _ sealed: [UInt8]?) -> [any DatabaseValueConvertible & Sendable] {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            c.provider.rawValue, c.owner.description, c.owner.org, c.state.rawValue, c.account?.id, c.account?.name,
            json(c.scopesRequested), json(c.scopesGranted), json(c.config), c.expiresAt.map(time),
            c.lastRefreshedAt.map(time), c.lastError, c.isDefault ? 1 : 0, time(c.createdAt), time(c.updatedAt),
            sealed.map { Data($0) },
        ]
        return values.map { $0 ?? DatabaseValue.null }
    }

    public func insert(_ connection: Connection, sealedCredential: [UInt8]?) async throws {
        let args = Self.connectionArguments(connection, sealedCredential)
        try await write { db in
            try db.execute(sql: Self.insertConnectionSQL, arguments: StatementArguments(args + [connection.id.rawValue, connection.version]))
        }
    }

    /// Inserts many connections in one transaction, each row exactly as `insert` writes it (for seeding and
    /// benchmarks). All or none: fails with `conflict`, writing nothing, when a row breaks a constraint (an id that
    /// exists, a second default of an owner and provider).
    public func insert(_ batch: [StoredConnection]) async throws {
        let rows = batch.map { Self.connectionArguments($0.connection, $0.sealedCredential) + [$0.connection.id.rawValue, $0.connection.version] }
        try await write { db in
            let statement = try db.cachedStatement(sql: Self.insertConnectionSQL)
            for row in rows { try statement.execute(arguments: StatementArguments(row)) }
        }
    }

    /// Every column of a new row: ``connectionArguments(_:_:)``, then id and version.
    static let insertConnectionSQL = """
        INSERT INTO connections (provider, owner, org, state, account_id, account_name, scopes_requested,
            scopes_granted, config, expires_at, last_refreshed_at, last_error, is_default, created_at, updated_at,
            credential, id, version)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    public func update(_ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int) async throws -> Bool {
        let args = Self.connectionArguments(connection, sealedCredential)
        return try await write { db in
            try db.execute(sql: Self.compareAndSwapConnectionSQL, arguments: StatementArguments(args + [connection.id.rawValue, expectedVersion]))
            return db.changesCount == 1
        }
    }

    public func connectionCountsByState() async throws -> [ConnectionState: Int] {
        try await pool.read { db in
            var counts: [ConnectionState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM connections GROUP BY state") {
                if let state = ConnectionState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    /// Writes every column of a connection (``connectionArguments(_:_:)``, then id and expected version) when the
    /// stored version is the expected one, and bumps the version.
    static let compareAndSwapConnectionSQL = """
        UPDATE connections SET provider = ?, owner = ?, org = ?, state = ?, account_id = ?, account_name = ?,
            scopes_requested = ?, scopes_granted = ?, config = ?, expires_at = ?, last_refreshed_at = ?,
            last_error = ?, is_default = ?, created_at = ?, updated_at = ?, credential = ?, version = version + 1
        WHERE id = ? AND version = ?
        """

    public func connection(id: ConnectionID) async throws -> StoredConnection? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ?", arguments: [id.rawValue]).flatMap { row in
                try Self.connection(row).map { StoredConnection(connection: $0, sealedCredential: (row["credential"] as Data?).map { Array($0) }) }
            }
        }
    }

    public func connections(owners: [OwnerRef], provider: ProviderID?) async throws -> [Connection] {
        guard !owners.isEmpty else { return [] }
        return try await pool.read { db in
            let marks = Array(repeating: "?", count: owners.count).joined(separator: ", ")
            var sql = "SELECT * FROM connections WHERE owner IN (\(marks))"
            var args: [any DatabaseValueConvertible] = owners.map(\.description)
            if let provider {
                sql += " AND provider = ?"
                args.append(provider.rawValue)
            }
            sql += " ORDER BY created_at, id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).compactMap(Self.connection)
        }
    }

    public func storedConnections(owners: [OwnerRef], provider: ProviderID?) async throws -> [StoredConnection] {
        guard !owners.isEmpty else { return [] }
        return try await pool.read { db in
            let marks = Array(repeating: "?", count: owners.count).joined(separator: ", ")
            var args: [any DatabaseValueConvertible] = owners.map(\.description)
            var sql = "SELECT * FROM connections WHERE owner IN (\(marks))"
            if let provider {
                sql += " AND provider = ?"
                args.append(provider.rawValue)
            }
            return try Row.fetchAll(
                db, sql: sql + " ORDER BY created_at, id",
                arguments: StatementArguments(args)
            ).compactMap { row in
                try Self.connection(row).map { StoredConnection(connection: $0, sealedCredential: (row["credential"] as Data?).map { Array($0) }) }
            }
        }
    }

    public func connectionsExpiring(before: Date, limit: Int) async throws -> [StoredConnection] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM connections WHERE expires_at IS NOT NULL AND expires_at < ? AND state IN ('active', 'error')
                    AND credential IS NOT NULL ORDER BY expires_at LIMIT ?
                    """,
                arguments: [Self.time(before), limit]
            ).compactMap { row in
                try Self.connection(row).map { StoredConnection(connection: $0, sealedCredential: (row["credential"] as Data?).map { Array($0) }) }
            }
        }
    }

    public func sealedConnections(after: ConnectionID?, limit: Int) async throws -> [StoredConnection] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM connections WHERE credential IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                arguments: [after?.rawValue ?? "", limit]
            ).compactMap { row in
                try Self.connection(row).map { StoredConnection(connection: $0, sealedCredential: (row["credential"] as Data?).map { Array($0) }) }
            }
        }
    }

    public func allConnections(ownerPrefix: OwnerRef?, provider: ProviderID?, state: ConnectionState?) async throws -> [Connection] {
        let filter = Filter([("org", ownerPrefix?.org), ("provider", provider?.rawValue), ("state", state?.rawValue)])
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM connections\(filter.whereSQL) ORDER BY created_at, id", arguments: StatementArguments(filter.arguments.map { $0 as any DatabaseValueConvertible }))
                .compactMap(Self.connection)
                .filter { ownerPrefix?.encloses($0.owner) ?? true }
        }
    }

    static func connection(_ row: Row) throws -> Connection? {
        guard let owner = try? OwnerRef(parsing: row["owner"]), let state = ConnectionState(rawValue: row["state"]) else { return nil }
        let accountID: String? = row["account_id"]
        return Connection(
            id: ConnectionID(rawValue: row["id"]), provider: ProviderID(row["provider"]), owner: owner, state: state,
            account: accountID.map { AccountIdentity(id: $0, name: row["account_name"]) },
            scopesRequested: decode([String].self, row["scopes_requested"]) ?? [],
            scopesGranted: decode([String].self, row["scopes_granted"]) ?? [],
            config: decode([String: String].self, row["config"]) ?? [:],
            expiresAt: try Self.optionalTime(row, "expires_at"), lastRefreshedAt: try Self.optionalTime(row, "last_refreshed_at"), lastError: row["last_error"],
            isDefault: (row["is_default"] as Int) == 1, createdAt: try Self.time(row, "created_at"), updatedAt: try Self.time(row, "updated_at"),
            version: row["version"])
    }
}

// MARK: - Pending flows

extension SQLiteStore {
    public func createSession(_ s: ConnectSession) async throws {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            s.tokenHash, s.provider.rawValue, s.owner.description, s.connectionID?.rawValue, s.installID?.rawValue,
            Self.json(s.extraScopes), s.returnTo, s.createdBy, Self.time(s.createdAt), Self.time(s.expiresAt), s.usedAt.map(Self.time),
        ]
        let args = values.map { $0 ?? DatabaseValue.null }
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO connect_sessions (token_hash, provider, owner, connection_id, install_id, extra_scopes,
                        return_to, created_by, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: StatementArguments(args))
        }
    }

    public func session(tokenHash: String) async throws -> ConnectSession? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM connect_sessions WHERE token_hash = ?", arguments: [tokenHash]).flatMap { row in
                guard let owner = try? OwnerRef(parsing: row["owner"]) else { return nil }
                let connectionID: String? = row["connection_id"]
                let installID: String? = row["install_id"]
                return ConnectSession(
                    tokenHash: tokenHash, provider: ProviderID(row["provider"]), owner: owner,
                    connectionID: connectionID.map(ConnectionID.init(rawValue:)), installID: installID.map(ConnectionID.init(rawValue:)),
                    extraScopes: Self.decode([String].self, row["extra_scopes"]) ?? [], returnTo: row["return_to"],
                    createdBy: row["created_by"], createdAt: try Self.time(row, "created_at"), expiresAt: try Self.time(row, "expires_at"),
                    usedAt: try Self.optionalTime(row, "used_at"))
            }
        }
    }

    public func markSessionUsed(tokenHash: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE connect_sessions SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                arguments: [Self.time(at), tokenHash])
            return db.changesCount == 1
        }
    }

    public func createState(_ s: AuthorizationState) async throws {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            s.stateHash, s.sessionTokenHash, s.provider.rawValue, s.owner.description, s.sealedVerifier.map { Data($0) },
            s.browserBindingHash, Self.json(s.scopes), Self.json(s.config), Self.time(s.createdAt), Self.time(s.expiresAt),
        ]
        let args = values.map { $0 ?? DatabaseValue.null }
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO authorization_states (state_hash, session_token_hash, provider, owner, verifier,
                        browser_binding_hash, scopes, config, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: StatementArguments(args))
        }
    }

    public func consumeState(hash: String) async throws -> AuthorizationState? {
        try await pool.write { db in
            try Row.fetchOne(db, sql: "DELETE FROM authorization_states WHERE state_hash = ? RETURNING *", arguments: [hash])
                .flatMap { try Self.authorizationState($0, hash: hash) }
        }
    }

    public func authorizationState(hash: String) async throws -> AuthorizationState? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM authorization_states WHERE state_hash = ?", arguments: [hash])
                .flatMap { try Self.authorizationState($0, hash: hash) }
        }
    }

    static func authorizationState(_ row: Row, hash: String) throws -> AuthorizationState? {
        guard let owner = try? OwnerRef(parsing: row["owner"]) else { return nil }
        return AuthorizationState(
            stateHash: hash, sessionTokenHash: row["session_token_hash"], provider: ProviderID(row["provider"]),
            owner: owner, sealedVerifier: (row["verifier"] as Data?).map { Array($0) },
            browserBindingHash: row["browser_binding_hash"], scopes: Self.decode([String].self, row["scopes"]) ?? [],
            config: Self.decode([String: String].self, row["config"]) ?? [:],
            createdAt: try Self.time(row, "created_at"), expiresAt: try Self.time(row, "expires_at"))
    }

    public func purgeExpired(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM authorization_states WHERE expires_at < ?", arguments: [Self.time(before)])
            var count = db.changesCount
            try db.execute(sql: "DELETE FROM connect_sessions WHERE expires_at < ?", arguments: [Self.time(before)])
            count += db.changesCount
            try db.execute(sql: "DELETE FROM sign_in_states WHERE expires_at < ?", arguments: [Self.time(before)])
            count += db.changesCount
            try db.execute(sql: "DELETE FROM sign_in_links WHERE expires_at < ?", arguments: [Self.time(before)])
            count += db.changesCount
            return count
        }
    }
}

// MARK: - Audit

extension SQLiteStore {
    public func append(_ e: AuditEvent) async throws {
        try await pool.write { db in try Self.insertAudit(db, e) }
    }

    static func insertAudit(_ db: Database, _ e: AuditEvent) throws {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            time(e.at), e.actor, e.action, e.owner?.description, e.owner?.org, e.provider?.rawValue,
            e.connectionID?.rawValue, e.outcome, e.detail,
        ]
        try db.execute(
            sql: """
                INSERT INTO audit_events (at, actor, action, owner, org, provider, connection_id, outcome, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: StatementArguments(values.map { $0 ?? DatabaseValue.null }))
    }

    public func events(_ query: AuditQuery) async throws -> [AuditEvent] {
        var filter = Filter([
            ("org", query.ownerPrefix?.org), ("provider", query.provider?.rawValue), ("connection_id", query.connectionID?.rawValue),
            ("actor", query.actor), ("outcome", query.outcome),
        ])
        if let since = query.since { filter.add("at >= ?", Self.time(since)) }
        if let until = query.until { filter.add("at < ?", Self.time(until)) }
        if let action = query.action {
            if action.hasSuffix(".") {
                filter.add("substr(action, 1, \(action.count)) = ?", action)
            } else {
                filter.add("action = ?", action)
            }
        }
        let limit = max(0, query.limit)
        // The owner filter is exact in Swift (`encloses`); SQL narrows to the org. Page until enough match.
        var events: [AuditEvent] = []
        var before = query.beforeID
        while events.count < limit {
            var page = filter
            if let before { page.add("id < ?", before) }
            page.limit(500)
            let batch = try await pool.read { [page] db in
                let values: [(any DatabaseValueConvertible)?] = page.arguments.map { $0 }
                return try Row.fetchAll(
                    db, sql: "SELECT * FROM audit_events\(page.whereSQL) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(values)
                ).map(Self.auditEvent)
            }
            for event in batch where events.count < limit {
                if let prefix = query.ownerPrefix {
                    guard let owner = event.owner, prefix.encloses(owner) else { continue }
                }
                events.append(event)
            }
            guard batch.count == 500, let last = batch.last?.id else { break }
            before = last
        }
        return events
    }

    static func auditEvent(_ row: Row) -> AuditEvent {
        let owner: String? = row["owner"]
        let provider: String? = row["provider"]
        let connection: String? = row["connection_id"]
        let at: Double = row["at"]
        return AuditEvent(
            id: row["id"], at: Date(timeIntervalSince1970: at), actor: row["actor"], action: row["action"],
            owner: owner.flatMap { try? OwnerRef(parsing: $0) }, provider: provider.map { ProviderID($0) },
            connectionID: connection.map { ConnectionID(rawValue: $0) }, outcome: row["outcome"], detail: row["detail"])
    }
}
