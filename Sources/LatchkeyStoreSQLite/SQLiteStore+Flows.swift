import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

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
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM connect_sessions WHERE token_hash = ?"), arguments: [tokenHash]).flatMap { row in
                let ownerText = try Self.required(row, "owner", as: String.self)
                guard let owner = try? OwnerRef(parsing: ownerText) else { return nil }
                let connectionID = try Self.optional(row, "connection_id", as: String.self)
                let installID = try Self.optional(row, "install_id", as: String.self)
                return ConnectSession(
                    tokenHash: tokenHash, provider: ProviderID(try Self.required(row, "provider", as: String.self)), owner: owner,
                    connectionID: connectionID.map(ConnectionID.init(rawValue:)), installID: installID.map(ConnectionID.init(rawValue:)),
                    extraScopes: Self.decode([String].self, try Self.optional(row, "extra_scopes", as: String.self)) ?? [],
                    returnTo: try Self.optional(row, "return_to", as: String.self), createdBy: try Self.required(row, "created_by", as: String.self),
                    createdAt: try Self.time(row, "created_at"), expiresAt: try Self.time(row, "expires_at"),
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
            try Row.fetchOne(db.cachedStatement(sql: "DELETE FROM authorization_states WHERE state_hash = ? RETURNING *"), arguments: [hash])
                .flatMap { try Self.authorizationState($0, hash: hash) }
        }
    }

    public func authorizationState(hash: String) async throws -> AuthorizationState? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM authorization_states WHERE state_hash = ?"), arguments: [hash])
                .flatMap { try Self.authorizationState($0, hash: hash) }
        }
    }

    static func authorizationState(_ row: Row, hash: String) throws -> AuthorizationState? {
        let ownerText = try Self.required(row, "owner", as: String.self)
        guard let owner = try? OwnerRef(parsing: ownerText) else { return nil }
        return AuthorizationState(
            stateHash: hash, sessionTokenHash: try Self.required(row, "session_token_hash", as: String.self),
            provider: ProviderID(try Self.required(row, "provider", as: String.self)), owner: owner,
            sealedVerifier: try Self.optional(row, "verifier", as: Data.self).map { Array($0) },
            browserBindingHash: try Self.required(row, "browser_binding_hash", as: String.self),
            scopes: Self.decode([String].self, try Self.optional(row, "scopes", as: String.self)) ?? [],
            config: Self.decode([String: String].self, try Self.optional(row, "config", as: String.self)) ?? [:],
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
