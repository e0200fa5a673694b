import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Connections

extension SQLiteStore {
    static func connectionArguments(_ c: Connection, _ sealed: [UInt8]?) -> [any DatabaseValueConvertible & Sendable] {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            c.provider.rawValue, c.owner.description, c.owner.org, c.state.rawValue, c.account?.id, c.account?.name,
            json(c.scopesRequested), json(c.scopesGranted), json(c.config), c.expiresAt.map(time),
            c.lastRefreshedAt.map(time), c.lastError, c.isDefault ? 1 : 0, time(c.createdAt), time(c.updatedAt),
            sealed.map { Data($0) }, c.credentials.rawValue,
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
            credential, credentials, id, version)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            last_error = ?, is_default = ?, created_at = ?, updated_at = ?, credential = ?, credentials = ?,
            version = version + 1
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
        guard let credentials = (row["credentials"] as String?).flatMap(CredentialSource.init(rawValue:)) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        return Connection(
            id: ConnectionID(rawValue: row["id"]), provider: ProviderID(row["provider"]), owner: owner, state: state,
            account: accountID.map { AccountIdentity(id: $0, name: row["account_name"]) },
            scopesRequested: decode([String].self, row["scopes_requested"]) ?? [],
            scopesGranted: decode([String].self, row["scopes_granted"]) ?? [],
            config: decode([String: String].self, row["config"]) ?? [:],
            expiresAt: try Self.optionalTime(row, "expires_at"), lastRefreshedAt: try Self.optionalTime(row, "last_refreshed_at"), lastError: row["last_error"],
            isDefault: (row["is_default"] as Int) == 1, createdAt: try Self.time(row, "created_at"), updatedAt: try Self.time(row, "updated_at"),
            version: row["version"], credentials: credentials)
    }
}
