import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Pending flows

extension PostgresStore {
    public func createSession(_ s: ConnectSession) async throws {
        try await execute(
            """
            INSERT INTO connect_sessions (token_hash, provider, owner, connection_id, install_id, extra_scopes, return_to, created_by,
                created_at, expires_at, used_at)
            VALUES (\(s.tokenHash), \(s.provider.rawValue), \(s.owner.description), \(s.connectionID?.rawValue), \(s.installID?.rawValue),
                \(Self.json(s.extraScopes)),
                \(s.returnTo), \(s.createdBy), \(Self.time(s.createdAt)), \(Self.time(s.expiresAt)), \(s.usedAt.map(Self.time)))
            """)
    }

    public func session(tokenHash: String) async throws -> ConnectSession? {
        guard let row = try await execute("SELECT * FROM connect_sessions WHERE token_hash = \(tokenHash)").first,
            let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self))
        else { return nil }
        return ConnectSession(
            tokenHash: tokenHash, provider: ProviderID(try row.value("provider", as: String.self)), owner: owner,
            connectionID: try row.value("connection_id", as: String?.self).map(ConnectionID.init(rawValue:)),
            installID: try row.value("install_id", as: String?.self).map(ConnectionID.init(rawValue:)),
            extraScopes: Self.decode([String].self, try row.value("extra_scopes")) ?? [], returnTo: try row.value("return_to"),
            createdBy: try row.value("created_by"), createdAt: try StoredTime.required(try row.value("created_at"), "created_at"),
            expiresAt: try StoredTime.required(try row.value("expires_at"), "expires_at"), usedAt: Self.date(try row.value("used_at")))
    }

    public func markSessionUsed(tokenHash: String, at: Date) async throws -> Bool {
        // A racing caller waits on the row lock, then re-checks `used_at IS NULL` and finds it set.
        try await !execute(
            "UPDATE connect_sessions SET used_at = \(Self.time(at)) WHERE token_hash = \(tokenHash) AND used_at IS NULL RETURNING 1"
        ).isEmpty
    }

    public func createState(_ s: AuthorizationState) async throws {
        try await execute(
            """
            INSERT INTO authorization_states (state_hash, session_token_hash, provider, owner, verifier, browser_binding_hash, scopes, config,
                created_at, expires_at)
            VALUES (\(s.stateHash), \(s.sessionTokenHash), \(s.provider.rawValue), \(s.owner.description), \(s.sealedVerifier.map(Self.bytes)),
                \(s.browserBindingHash), \(Self.json(s.scopes)), \(Self.json(s.config)), \(Self.time(s.createdAt)), \(Self.time(s.expiresAt)))
            """)
    }

    public func consumeState(hash: String) async throws -> AuthorizationState? {
        // DELETE … RETURNING: of concurrent callers, one deletes the row and gets it; the others find nothing.
        guard let row = try await execute("DELETE FROM authorization_states WHERE state_hash = \(hash) RETURNING *").first else { return nil }
        return try Self.authorizationState(row, hash: hash)
    }

    public func authorizationState(hash: String) async throws -> AuthorizationState? {
        guard let row = try await execute("SELECT * FROM authorization_states WHERE state_hash = \(hash)").first else { return nil }
        return try Self.authorizationState(row, hash: hash)
    }

    static func authorizationState(_ row: PostgresRandomAccessRow, hash: String) throws -> AuthorizationState? {
        guard let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self)) else { return nil }
        return AuthorizationState(
            stateHash: hash, sessionTokenHash: try row.value("session_token_hash"), provider: ProviderID(try row.value("provider", as: String.self)),
            owner: owner, sealedVerifier: Self.bytes(try row.value("verifier", as: ByteBuffer?.self)),
            browserBindingHash: try row.value("browser_binding_hash"), scopes: Self.decode([String].self, try row.value("scopes")) ?? [],
            config: Self.decode([String: String].self, try row.value("config")) ?? [:],
            createdAt: try StoredTime.required(try row.value("created_at"), "created_at"), expiresAt: try StoredTime.required(try row.value("expires_at"), "expires_at"))
    }

    public func purgeExpired(before: Date) async throws -> Int {
        try await transaction { tx in
            let states = try await tx.execute("DELETE FROM authorization_states WHERE expires_at < \(Self.time(before)) RETURNING 1").count
            let sessions = try await tx.execute("DELETE FROM connect_sessions WHERE expires_at < \(Self.time(before)) RETURNING 1").count
            let signInStates = try await tx.execute("DELETE FROM sign_in_states WHERE expires_at < \(Self.time(before)) RETURNING 1").count
            let signInLinks = try await tx.execute("DELETE FROM sign_in_links WHERE expires_at < \(Self.time(before)) RETURNING 1").count
            return states + sessions + signInStates + signInLinks
        }
    }
}
