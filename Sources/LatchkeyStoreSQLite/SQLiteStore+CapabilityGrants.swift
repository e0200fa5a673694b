import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Capability grants and org access policies

extension SQLiteStore {
    public func replaceGrants(owner: OwnerRef, _ grants: [StoredGrant], at: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM capability_grants WHERE owner = ?", arguments: [owner.description])
            for (position, grant) in grants.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO capability_grants (owner, position, provider, tools, methods, paths, connection_id, expires_at, approval, granted_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        owner.description, position, grant.provider.rawValue, Self.json(grant.tools), Self.json(grant.methods), Self.json(grant.paths),
                        grant.connection?.rawValue, grant.expiresAt.map(Self.time), grant.approval, Self.time(at),
                    ])
            }
        }
    }

    public func grants(owners: [OwnerRef]) async throws -> [OwnerRef: [StoredGrant]] {
        let found = try await pool.read { db in
            var found: [String: [StoredGrant]] = [:]
            let sql = "SELECT * FROM capability_grants WHERE owner IN (\(databaseQuestionMarks(count: owners.count))) ORDER BY owner, position"
            // Prepared once per connection for an agent's standing (one to three holders, read by every call); a long
            // list (the admin's) is prepared each time, so that the statement cache keeps a few shapes only.
            let statement = owners.count <= 3 ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
            for row in try Row.fetchAll(statement, arguments: StatementArguments(owners.map(\.description)))
            {
                found[try Self.required(row, "owner", as: String.self), default: []].append(try Self.storedGrant(row))
            }
            return found
        }
        return Dictionary(owners.map { ($0, found[$0.description] ?? []) }, uniquingKeysWith: { first, _ in first })
    }

    public func setAccessPolicy(org: String, _ policy: OrgAccessPolicy, at: Date) async throws {
        let ref = try OwnerRef(kind: .org, path: org, field: "org")
        // Writes are serialized, so the check and the upsert form one step.
        try await write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM owners WHERE ref = ?"), arguments: [ref.description]) == true else {
                throw LatchkeyError(.conflict, "\(ref) does not exist")
            }
            try db.execute(
                sql: Self.upsert("org_access_policies", ["org", "read_tools", "proxy", "updated_at"], key: ["org"]),
                arguments: [org, policy.readTools.rawValue, policy.proxy.rawValue, Self.time(at)])
        }
    }

    public func accessPolicy(org: String) async throws -> OrgAccessPolicy {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT read_tools, proxy FROM org_access_policies WHERE org = ?"), arguments: [org]).map {
                try OrgAccessPolicy(
                    storedReadTools: try Self.required($0, "read_tools", as: String.self), proxy: try Self.required($0, "proxy", as: String.self))
            } ?? .open
        }
    }

    static func storedGrant(_ row: Row) throws -> StoredGrant {
        StoredGrant(
            provider: ProviderID(try Self.required(row, "provider", as: String.self)),
            tools: try StoredJSON.required([String].self, try Self.optional(row, "tools", as: String.self), "tools"),
            methods: try StoredJSON.required([String].self, try Self.optional(row, "methods", as: String.self), "methods"),
            paths: try StoredJSON.required([String].self, try Self.optional(row, "paths", as: String.self), "paths"),
            connection: try Self.optional(row, "connection_id", as: String.self).map(ConnectionID.init(rawValue:)),
            expiresAt: try Self.optionalTime(row, "expires_at"), approval: try Self.required(row, "approval", as: String.self))
    }
}
