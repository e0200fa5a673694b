import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - People

extension SQLiteStore {
    public func setPerson(_ person: OwnerRef, email: String?) async throws {
        let email = email?.lowercased()
        // Writes are serialized, so the checks and the upsert form one step.
        try await write { db in
            guard
                try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM owners WHERE ref = ? AND kind = 'user'"), arguments: [person.description]) == true
            else { throw LatchkeyError(.notFound, "\(person) does not exist", field: "person") }
            if let email,
                try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM people WHERE org = ? AND email = ? AND person <> ?"), arguments: [person.org, email, person.description])
                    == true
            {
                throw LatchkeyError(.conflict, "another person of \(person.org) has this email", field: "email")
            }
            try db.execute(
                sql: Self.upsert("people", ["person", "org", "email"], key: ["person"], update: ["email"]),
                arguments: [person.description, person.org, email])
        }
    }

    public func person(_ person: OwnerRef) async throws -> PersonRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM people WHERE person = ?"), arguments: [person.description]).flatMap(Self.personRecord)
        }
    }

    public func person(org: String, email: String) async throws -> PersonRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM people WHERE org = ? AND email = ?"), arguments: [org, email.lowercased()])
                .flatMap(Self.personRecord)
        }
    }

    public func person(org: String, issuer: String, subject: String) async throws -> PersonRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM people WHERE org = ? AND issuer = ? AND subject = ?"), arguments: [org, issuer, subject])
                .flatMap(Self.personRecord)
        }
    }

    public func recordSubject(_ person: OwnerRef, issuer: String, subject: String) async throws -> Bool {
        do {
            return try await write { db in
                try db.execute(
                    sql: "UPDATE people SET issuer = ?, subject = ? WHERE person = ? AND subject IS NULL",
                    arguments: [issuer, subject, person.description])
                return db.changesCount == 1
            }
        } catch let error as LatchkeyError where error.code == .conflict {
            // The unique (org, issuer, subject) index: another person of the org holds it.
            return false
        }
    }

    static func personRecord(_ row: Row) throws(LatchkeyError) -> PersonRecord? {
        let personText = try Self.required(row, "person", as: String.self)
        guard let person = try? OwnerRef(parsing: personText) else { return nil }
        return PersonRecord(
            person: person, email: try Self.optional(row, "email", as: String.self), issuer: try Self.optional(row, "issuer", as: String.self),
            subject: try Self.optional(row, "subject", as: String.self))
    }
}

// MARK: - Sign-in providers, links and states

extension SQLiteStore {
    public func putSignInProvider(_ provider: SignInProvider) async throws {
        try await write { db in
            try db.execute(
                sql: Self.upsert("sign_in_providers", ["org", "issuer", "client_id", "client_secret", "updated_at"], key: ["org"]),
                arguments: [
                    provider.org, provider.issuer, provider.clientID, provider.sealedClientSecret.map { Data($0) }, Self.time(provider.updatedAt),
                ])
        }
    }

    public func signInProvider(org: String) async throws -> SignInProvider? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sign_in_providers WHERE org = ?"), arguments: [org]).map { row in
                SignInProvider(
                    org: try Self.required(row, "org", as: String.self), issuer: try Self.required(row, "issuer", as: String.self),
                    clientID: try Self.required(row, "client_id", as: String.self),
                    sealedClientSecret: try Self.optional(row, "client_secret", as: Data.self).map { Array($0) },
                    updatedAt: try Self.time(row, "updated_at"))
            }
        }
    }

    public func createSignInLink(tokenHash: String, person: OwnerRef, createdAt: Date, expiresAt: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO sign_in_links (token_hash, person, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, person.description, Self.time(createdAt), Self.time(expiresAt)])
        }
    }

    public func useSignInLink(tokenHash: String, at: Date) async throws -> SignInLinkUse {
        try await pool.write { db in
            if let person = try String.fetchOne(
                db,
                sql: "UPDATE sign_in_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING person",
                arguments: [Self.time(at), tokenHash, Self.time(at)])
            {
                return (try? OwnerRef(parsing: person)).map(SignInLinkUse.person) ?? .unknown
            }
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT used_at FROM sign_in_links WHERE token_hash = ?"), arguments: [tokenHash]) else {
                return .unknown
            }
            return try Self.optional(row, "used_at", as: Double.self) == nil ? .expired : .alreadyUsed
        }
    }

    public func createSignInState(_ s: SignInState) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO sign_in_states (state_hash, org, nonce_hash, verifier, browser_binding_hash, next, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    s.stateHash, s.org, s.nonceHash, Data(s.sealedVerifier), s.browserBindingHash, s.next, Self.time(s.createdAt),
                    Self.time(s.expiresAt),
                ])
        }
    }

    public func signInState(hash: String) async throws -> SignInState? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sign_in_states WHERE state_hash = ?"), arguments: [hash]).map(Self.signInState)
        }
    }

    public func consumeSignInState(hash: String) async throws -> SignInState? {
        try await pool.write { db in
            try Row.fetchOne(db.cachedStatement(sql: "DELETE FROM sign_in_states WHERE state_hash = ? RETURNING *"), arguments: [hash]).map(Self.signInState)
        }
    }

    static func signInState(_ row: Row) throws -> SignInState {
        SignInState(
            stateHash: try Self.required(row, "state_hash", as: String.self), org: try Self.required(row, "org", as: String.self),
            nonceHash: try Self.required(row, "nonce_hash", as: String.self), sealedVerifier: Array(try Self.required(row, "verifier", as: Data.self)),
            browserBindingHash: try Self.required(row, "browser_binding_hash", as: String.self), next: try Self.required(row, "next", as: String.self),
            createdAt: try Self.time(row, "created_at"), expiresAt: try Self.time(row, "expires_at"))
    }
}
