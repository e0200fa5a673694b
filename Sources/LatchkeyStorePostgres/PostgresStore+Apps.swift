import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Apps

extension PostgresStore {
    public func putApp(_ app: AppRegistration) async throws {
        try await execute(
            """
            INSERT INTO apps (provider, owner, client_id, client_secret, scopes, updated_at)
            VALUES (\(app.provider.rawValue), \(app.owner.description), \(app.clientID), \(app.sealedClientSecret.map(Self.bytes)),
                \(Self.json(app.scopes)), \(Self.time(app.updatedAt)))
            ON CONFLICT (provider, owner) DO UPDATE SET client_id = excluded.client_id,
                client_secret = excluded.client_secret, scopes = excluded.scopes, updated_at = excluded.updated_at
            """)
    }

    public func allApps(owner: OwnerRef) async throws -> [AppRegistration] {
        try await execute("SELECT * FROM apps WHERE owner = \(owner.description)").compactMap(Self.app)
    }

    public func apps(provider: ProviderID) async throws -> [AppRegistration] {
        try await execute("SELECT * FROM apps WHERE provider = \(provider.rawValue) ORDER BY updated_at, owner").compactMap(Self.app)
    }

    public func apps(provider: ProviderID, owners: [OwnerRef]) async throws -> [AppRegistration] {
        guard !owners.isEmpty else { return [] }
        return try await execute("SELECT * FROM apps WHERE provider = \(provider.rawValue) AND owner = ANY(\(owners.map(\.description)))")
            .compactMap(Self.app)
    }

    static func app(_ row: PostgresRandomAccessRow) throws -> AppRegistration? {
        guard let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self)) else { return nil }
        return AppRegistration(
            provider: ProviderID(try row.value("provider", as: String.self)), owner: owner, clientID: try row.value("client_id"),
            sealedClientSecret: bytes(try row.value("client_secret", as: ByteBuffer?.self)),
            scopes: decode([String].self, try row.value("scopes")) ?? [], updatedAt: try StoredTime.required(try row.value("updated_at"), "updated_at"))
    }
}
