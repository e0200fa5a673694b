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
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT state, COUNT(*) AS n FROM connections GROUP BY state")) {
                if let state = ConnectionState(rawValue: try Self.required(row, "state", as: String.self)) {
                    counts[state] = try Self.required(row, "n", as: Int.self)
                }
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
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM connections WHERE id = ?"), arguments: [id.rawValue]).flatMap(Self.storedConnection)
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
            ).compactMap(Self.storedConnection)
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
            ).compactMap(Self.storedConnection)
        }
    }

    public func sealedConnections(after: ConnectionID?, limit: Int) async throws -> [StoredConnection] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM connections WHERE credential IS NOT NULL AND id > ? ORDER BY id LIMIT ?"),
                arguments: [after?.rawValue ?? "", limit]
            ).compactMap(Self.storedConnection)
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

    /// The connection in `row` with its sealed credential; nil where ``connection(_:)`` skips the row.
    static func storedConnection(_ row: Row) throws -> StoredConnection? {
        guard let connection = try Self.connection(row) else { return nil }
        return StoredConnection(connection: connection, sealedCredential: try Self.optional(row, "credential", as: Data.self).map { Array($0) })
    }

    static func connection(_ row: Row) throws -> Connection? {
        let ownerText = try Self.required(row, "owner", as: String.self)
        guard let owner = try? OwnerRef(parsing: ownerText),
            let state = ConnectionState(rawValue: try Self.required(row, "state", as: String.self))
        else { return nil }
        let accountID = try Self.optional(row, "account_id", as: String.self)
        guard let credentials = try Self.optional(row, "credentials", as: String.self).flatMap(CredentialSource.init(rawValue:)) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        return Connection(
            id: ConnectionID(rawValue: try Self.required(row, "id", as: String.self)),
            provider: ProviderID(try Self.required(row, "provider", as: String.self)), owner: owner, state: state,
            account: try accountID.map { id throws(LatchkeyError) in
                AccountIdentity(id: id, name: try Self.optional(row, "account_name", as: String.self))
            },
            scopesRequested: decode([String].self, try Self.optional(row, "scopes_requested", as: String.self)) ?? [],
            scopesGranted: decode([String].self, try Self.optional(row, "scopes_granted", as: String.self)) ?? [],
            config: decode([String: String].self, try Self.optional(row, "config", as: String.self)) ?? [:],
            expiresAt: try Self.optionalTime(row, "expires_at"), lastRefreshedAt: try Self.optionalTime(row, "last_refreshed_at"),
            lastError: try Self.optional(row, "last_error", as: String.self),
            isDefault: try Self.required(row, "is_default", as: Int.self) == 1, createdAt: try Self.time(row, "created_at"),
            updatedAt: try Self.time(row, "updated_at"), version: try Self.required(row, "version", as: Int.self), credentials: credentials)
    }
}
