import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func mcpClient(provider: ProviderID, org: String) async throws -> StoredMCPClient? {
        try await execute("SELECT * FROM mcp_clients WHERE provider = \(provider.rawValue) AND org = \(org)").first.map(Self.mcpClient)
    }

    public func saveMCPClient(_ client: StoredMCPClient, replacing: String?) async throws -> Bool {
        let secret = client.sealedSecret.map(Self.bytes)
        let expires = client.secretExpiresAt.map(Self.time)
        guard let replacing else {
            return try await !execute(
                """
                INSERT INTO mcp_clients (provider, org, issuer, client_id, client_secret, auth_method, secret_expires_at, registered_at)
                VALUES (\(client.provider.rawValue), \(client.org), \(client.issuer), \(client.clientID), \(secret), \(client.authMethod),
                    \(expires), \(Self.time(client.registeredAt)))
                ON CONFLICT (provider, org) DO NOTHING RETURNING provider
                """
            ).isEmpty
        }
        return try await !execute(
            """
            INSERT INTO mcp_clients (provider, org, issuer, client_id, client_secret, auth_method, secret_expires_at, registered_at)
            VALUES (\(client.provider.rawValue), \(client.org), \(client.issuer), \(client.clientID), \(secret), \(client.authMethod),
                \(expires), \(Self.time(client.registeredAt)))
            ON CONFLICT (provider, org) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
                client_secret = excluded.client_secret, auth_method = excluded.auth_method,
                secret_expires_at = excluded.secret_expires_at, registered_at = excluded.registered_at
            WHERE mcp_clients.client_id = \(replacing)
            RETURNING provider
            """
        ).isEmpty
    }

    public func deleteMCPClients(provider: ProviderID) async throws -> Int {
        try await execute("DELETE FROM mcp_clients WHERE provider = \(provider.rawValue) RETURNING org").count
    }

    static func mcpClient(_ row: PostgresRandomAccessRow) throws -> StoredMCPClient {
        StoredMCPClient(
            provider: ProviderID(try row.required("provider", as: String.self)), org: try row.required("org"),
            issuer: try row.required("issuer"), clientID: try row.required("client_id"),
            sealedSecret: bytes(try row.value("client_secret", as: ByteBuffer?.self)), authMethod: try row.required("auth_method"),
            secretExpiresAt: StoredTime.date(try row.value("secret_expires_at", as: Double?.self)),
            registeredAt: try StoredTime.required(try row.value("registered_at"), "registered_at"))
    }
}
