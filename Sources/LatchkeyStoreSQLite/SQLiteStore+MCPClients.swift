import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func mcpClient(provider: ProviderID, org: String) async throws -> StoredMCPClient? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM mcp_clients WHERE provider = ? AND org = ?"), arguments: [provider.rawValue, org]
            ).map(Self.mcpClient)
        }
    }

    public func saveMCPClient(_ client: StoredMCPClient, replacing: String?) async throws -> Bool {
        let conflict =
            replacing == nil
            ? "DO NOTHING"
            : """
            DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
                auth_method = excluded.auth_method, secret_expires_at = excluded.secret_expires_at, registered_at = excluded.registered_at
            WHERE mcp_clients.client_id = ?
            """
        var arguments: [(any DatabaseValueConvertible)?] = [
            client.provider.rawValue, client.org, client.issuer, client.clientID, client.sealedSecret.map { Data($0) }, client.authMethod,
            client.secretExpiresAt.map(Self.time), Self.time(client.registeredAt),
        ]
        if let replacing { arguments.append(replacing) }
        let statement = StatementArguments(arguments)
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO mcp_clients (provider, org, issuer, client_id, client_secret, auth_method, secret_expires_at, registered_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, org) \(conflict)
                    """,
                arguments: statement)
            return db.changesCount == 1
        }
    }

    public func deleteMCPClients(provider: ProviderID) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM mcp_clients WHERE provider = ?", arguments: [provider.rawValue])
            return db.changesCount
        }
    }

    static func mcpClient(_ row: Row) throws -> StoredMCPClient {
        StoredMCPClient(
            provider: ProviderID(try required(row, "provider", as: String.self)), org: try required(row, "org"),
            issuer: try required(row, "issuer"), clientID: try required(row, "client_id"),
            sealedSecret: try optional(row, "client_secret", as: Data.self).map { Array($0) }, authMethod: try required(row, "auth_method"),
            secretExpiresAt: try optionalTime(row, "secret_expires_at"), registeredAt: try time(row, "registered_at"))
    }
}
