import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Connections

extension PostgresStore {
    /// Every column of a connection but `id` and `version`, as `column = $n` assignments, in the binds given.
    static func connectionAssignments(_ c: Connection, _ sealed: [UInt8]?, into binds: inout PostgresBindings) -> String {
        binds.append(c.provider.rawValue)
        binds.append(c.owner.description)
        binds.append(c.owner.org)
        binds.append(c.state.rawValue)
        binds.append(c.account?.id)
        binds.append(c.account?.name)
        binds.append(json(c.scopesRequested))
        binds.append(json(c.scopesGranted))
        binds.append(json(c.config))
        binds.append(c.expiresAt.map(time))
        binds.append(c.lastRefreshedAt.map(time))
        binds.append(c.lastError)
        binds.append(c.isDefault)
        binds.append(time(c.createdAt))
        binds.append(time(c.updatedAt))
        binds.append(sealed.map(bytes))
        binds.append(c.credentials.rawValue)
        let start = binds.count - connectionColumns.count
        return connectionColumns.enumerated().map { "\($1) = $\(start + $0 + 1)" }.joined(separator: ", ")
    }

    static let connectionColumns = [
        "provider", "owner", "org", "state", "account_id", "account_name", "scopes_requested", "scopes_granted", "config",
        "expires_at", "last_refreshed_at", "last_error", "is_default", "created_at", "updated_at", "credential",
        "credentials",
    ]

    /// The compare-and-swap write: every column, when the stored version is `expectedVersion`; bumps the version.
    static func compareAndSwap(_ c: Connection, _ sealed: [UInt8]?, expectedVersion: Int) -> PostgresQuery {
        var binds = PostgresBindings()
        let set = connectionAssignments(c, sealed, into: &binds)
        binds.append(c.id.rawValue)
        binds.append(expectedVersion)
        return PostgresQuery(
            unsafeSQL: "UPDATE connections SET \(set), version = version + 1 WHERE id = $\(binds.count - 1) AND version = $\(binds.count) RETURNING 1",
            binds: binds)
    }

    public func insert(_ connection: Connection, sealedCredential: [UInt8]?) async throws {
        var binds = PostgresBindings()
        _ = Self.connectionAssignments(connection, sealedCredential, into: &binds)
        binds.append(connection.id.rawValue)
        binds.append(connection.version)
        let columns = Self.connectionColumns + ["id", "version"]
        let marks = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        try await execute(PostgresQuery(unsafeSQL: "INSERT INTO connections (\(columns.joined(separator: ", "))) VALUES (\(marks))", binds: binds))
    }

    /// Inserts many connections in one transaction, each row exactly as `insert` writes it (for seeding and
    /// benchmarks). All or none: fails with `conflict`, writing nothing, when a row breaks a constraint (an id that
    /// exists, a second default of an owner and provider).
    public func insert(_ batch: [StoredConnection]) async throws {
        let columns = Self.connectionColumns + ["id", "version"]
        // A statement carries at most 65,535 parameters, and a row takes 19.
        let rowsPerStatement = 500
        try await transaction { tx in
            for start in stride(from: 0, to: batch.count, by: rowsPerStatement) {
                var binds = PostgresBindings()
                var tuples: [String] = []
                for stored in batch[start..<min(start + rowsPerStatement, batch.count)] {
                    let first = binds.count + 1
                    _ = Self.connectionAssignments(stored.connection, stored.sealedCredential, into: &binds)
                    binds.append(stored.connection.id.rawValue)
                    binds.append(stored.connection.version)
                    tuples.append("(" + (first...binds.count).map { "$\($0)" }.joined(separator: ", ") + ")")
                }
                try await tx.execute(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO connections (\(columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", "))",
                        binds: binds))
            }
        }
    }

    public func update(_ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int) async throws -> Bool {
        try await !execute(Self.compareAndSwap(connection, sealedCredential, expectedVersion: expectedVersion)).isEmpty
    }

    public func connection(id: ConnectionID) async throws -> StoredConnection? {
        try await execute("SELECT * FROM connections WHERE id = \(id.rawValue)").first.flatMap(Self.stored)
    }

    public func connections(owners: [OwnerRef], provider: ProviderID?) async throws -> [Connection] {
        try await storedConnections(owners: owners, provider: provider).map(\.connection)
    }

    public func storedConnections(owners: [OwnerRef], provider: ProviderID?) async throws -> [StoredConnection] {
        guard !owners.isEmpty else { return [] }
        let owners = owners.map(\.description)
        let rows =
            if let provider {
                try await execute(
                    "SELECT * FROM connections WHERE owner = ANY(\(owners)) AND provider = \(provider.rawValue) ORDER BY created_at, id")
            } else {
                try await execute("SELECT * FROM connections WHERE owner = ANY(\(owners)) ORDER BY created_at, id")
            }
        return try rows.compactMap(Self.stored)
    }

    public func connectionsExpiring(before: Date, limit: Int) async throws -> [StoredConnection] {
        try await execute(
            """
            SELECT * FROM connections WHERE expires_at IS NOT NULL AND expires_at < \(Self.time(before)) AND state IN ('active', 'error')
            AND credential IS NOT NULL ORDER BY expires_at LIMIT \(limit)
            """
        ).compactMap(Self.stored)
    }

    public func sealedConnections(after: ConnectionID?, limit: Int) async throws -> [StoredConnection] {
        // COLLATE "C": byte order, as SQLite compares text, whatever the database's collation.
        try await execute(
            """
            SELECT * FROM connections WHERE credential IS NOT NULL AND id COLLATE "C" > \(after?.rawValue ?? "")
            ORDER BY id COLLATE "C" LIMIT \(limit)
            """
        ).compactMap(Self.stored)
    }

    public func allConnections(ownerPrefix: OwnerRef?, provider: ProviderID?, state: ConnectionState?) async throws -> [Connection] {
        let filter = PostgresFilter([("org", ownerPrefix?.org), ("provider", provider?.rawValue), ("state", state?.rawValue)])
        return try await execute(PostgresQuery(unsafeSQL: "SELECT * FROM connections\(filter.whereSQL) ORDER BY created_at, id", binds: filter.binds))
            .compactMap(Self.stored)
            .map(\.connection)
            .filter { ownerPrefix?.encloses($0.owner) ?? true }
    }

    public func connectionCountsByState() async throws -> [ConnectionState: Int] {
        var counts: [ConnectionState: Int] = [:]
        for row in try await execute("SELECT state, COUNT(*) AS n FROM connections GROUP BY state") {
            if let state = ConnectionState(rawValue: try row.value("state", as: String.self)) {
                counts[state] = Int(try row.value("n", as: Int64.self))
            }
        }
        return counts
    }

    static func stored(_ row: PostgresRandomAccessRow) throws -> StoredConnection? {
        guard let connection = try connection(row) else { return nil }
        return StoredConnection(connection: connection, sealedCredential: bytes(try row.value("credential", as: ByteBuffer?.self)))
    }

    static func connection(_ row: PostgresRandomAccessRow) throws -> Connection? {
        guard let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self)),
            let state = ConnectionState(rawValue: try row.value("state"))
        else { return nil }
        let accountID = try row.value("account_id", as: String?.self)
        let accountName = try row.value("account_name", as: String?.self)
        guard let credentials = CredentialSource(rawValue: try row.required("credentials")) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        return Connection(
            id: ConnectionID(rawValue: try row.value("id")), provider: ProviderID(try row.value("provider", as: String.self)), owner: owner,
            state: state, account: accountID.map { AccountIdentity(id: $0, name: accountName) },
            scopesRequested: decode([String].self, try row.value("scopes_requested")) ?? [],
            scopesGranted: decode([String].self, try row.value("scopes_granted")) ?? [],
            config: decode([String: String].self, try row.value("config")) ?? [:],
            expiresAt: date(try row.value("expires_at")), lastRefreshedAt: date(try row.value("last_refreshed_at")),
            lastError: try row.value("last_error"), isDefault: try row.value("is_default"), createdAt: try StoredTime.required(try row.value("created_at"), "created_at"),
            updatedAt: try StoredTime.required(try row.value("updated_at"), "updated_at"), version: try row.value("version"),
            credentials: credentials)
    }
}
