import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Capability grants and org access policies

extension PostgresStore {
    public func replaceGrants(owner: OwnerRef, _ grants: [StoredGrant], at: Date) async throws {
        try await transaction { tx in
            try await tx.execute("DELETE FROM capability_grants WHERE owner = \(owner.description)")
            for (position, grant) in grants.enumerated() {
                try await tx.execute(
                    """
                    INSERT INTO capability_grants (owner, position, provider, tools, methods, paths, connection_id, expires_at, approval, granted_at)
                    VALUES (\(owner.description), \(position), \(grant.provider.rawValue), \(Self.json(grant.tools)), \(Self.json(grant.methods)),
                        \(Self.json(grant.paths)), \(grant.connection?.rawValue), \(grant.expiresAt.map(Self.time)), \(grant.approval), \(Self.time(at)))
                    """)
            }
        }
    }

    public func grants(owners: [OwnerRef]) async throws -> [OwnerRef: [StoredGrant]] {
        var found: [String: [StoredGrant]] = [:]
        for row in try await execute(
            "SELECT * FROM capability_grants WHERE owner = ANY(\(owners.map(\.description))) ORDER BY owner, position")
        {
            found[try row.value("owner", as: String.self), default: []].append(try Self.storedGrant(row))
        }
        return Dictionary(owners.map { ($0, found[$0.description] ?? []) }, uniquingKeysWith: { first, _ in first })
    }

    public func setAccessPolicy(org: String, _ policy: OrgAccessPolicy, at: Date) async throws {
        let ref = try OwnerRef(kind: .org, path: org, field: "org")
        try await transaction { tx in
            // FOR SHARE keeps the org from going away before this upsert commits.
            if try await tx.execute("SELECT 1 FROM owners WHERE ref = \(ref.description) FOR SHARE").isEmpty {
                throw LatchkeyError(.conflict, "\(ref) does not exist")
            }
            try await tx.execute(
                """
                INSERT INTO org_access_policies (org, read_tools, proxy, updated_at)
                VALUES (\(org), \(policy.readTools.rawValue), \(policy.proxy.rawValue), \(Self.time(at)))
                ON CONFLICT (org) DO UPDATE SET read_tools = excluded.read_tools, proxy = excluded.proxy, updated_at = excluded.updated_at
                """)
        }
    }

    public func accessPolicy(org: String) async throws -> OrgAccessPolicy {
        guard let row = try await execute("SELECT read_tools, proxy FROM org_access_policies WHERE org = \(org)").first else { return .open }
        return try OrgAccessPolicy(storedReadTools: try row.value("read_tools"), proxy: try row.value("proxy"))
    }

    static func storedGrant(_ row: PostgresRandomAccessRow) throws -> StoredGrant {
        StoredGrant(
            provider: ProviderID(try row.value("provider", as: String.self)),
            tools: try StoredJSON.required([String].self, try row.value("tools"), "tools"),
            methods: try StoredJSON.required([String].self, try row.value("methods"), "methods"),
            paths: try StoredJSON.required([String].self, try row.value("paths"), "paths"),
            connection: try row.value("connection_id", as: String?.self).map(ConnectionID.init(rawValue:)),
            expiresAt: Self.date(try row.value("expires_at")), approval: try row.value("approval"))
    }
}
