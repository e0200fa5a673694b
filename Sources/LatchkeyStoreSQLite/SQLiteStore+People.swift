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
                try Bool.fetchOne(db, sql: "SELECT 1 FROM owners WHERE ref = ? AND kind = 'user'", arguments: [person.description]) == true
            else { throw LatchkeyError(.notFound, "\(person) does not exist", field: "person") }
            if let email,
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM people WHERE org = ? AND email = ? AND person <> ?", arguments: [person.org, email, person.description])
                    == true
            {
                throw LatchkeyError(.conflict, "another person of \(person.org) has this email", field: "email")
            }
            try db.execute(
                sql: "INSERT INTO people (person, org, email) VALUES (?, ?, ?) ON CONFLICT (person) DO UPDATE SET email = excluded.email",
                arguments: [person.description, person.org, email])
        }
    }

    public func person(_ person: OwnerRef) async throws -> PersonRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM people WHERE person = ?", arguments: [person.description]).flatMap(Self.personRecord)
        }
    }

    public func person(org: String, email: String) async throws -> PersonRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM people WHERE org = ? AND email = ?", arguments: [org, email.lowercased()])
                .flatMap(Self.personRecord)
        }
    }

    public func person(org: String, issuer: String, subject: String) async throws -> PersonRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM people WHERE org = ? AND issuer = ? AND subject = ?", arguments: [org, issuer, subject])
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

    static func personRecord(_ row: Row) -> PersonRecord? {
        guard let person = try? OwnerRef(parsing: row["person"]) else { return nil }
        return PersonRecord(person: person, email: row["email"], issuer: row["issuer"], subject: row["subject"])
    }
}

// MARK: - Sign-in providers, links and states

extension SQLiteStore {
    public func putSignInProvider(_ provider: SignInProvider) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO sign_in_providers (org, issuer, client_id, client_secret, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (org) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
                        client_secret = excluded.client_secret, updated_at = excluded.updated_at
                    """,
                arguments: [
                    provider.org, provider.issuer, provider.clientID, provider.sealedClientSecret.map { Data($0) }, Self.time(provider.updatedAt),
                ])
        }
    }

    public func signInProvider(org: String) async throws -> SignInProvider? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sign_in_providers WHERE org = ?", arguments: [org]).map { row in
                SignInProvider(
                    org: row["org"], issuer: row["issuer"], clientID: row["client_id"],
                    sealedClientSecret: (row["client_secret"] as Data?).map { Array($0) }, updatedAt: try Self.time(row, "updated_at"))
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
            guard let row = try Row.fetchOne(db, sql: "SELECT used_at FROM sign_in_links WHERE token_hash = ?", arguments: [tokenHash]) else {
                return .unknown
            }
            return (row["used_at"] as Double?) == nil ? .expired : .alreadyUsed
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
            try Row.fetchOne(db, sql: "SELECT * FROM sign_in_states WHERE state_hash = ?", arguments: [hash]).map(Self.signInState)
        }
    }

    public func consumeSignInState(hash: String) async throws -> SignInState? {
        try await pool.write { db in
            try Row.fetchOne(db, sql: "DELETE FROM sign_in_states WHERE state_hash = ? RETURNING *", arguments: [hash]).map(Self.signInState)
        }
    }

    static func signInState(_ row: Row) throws -> SignInState {
        SignInState(
            stateHash: row["state_hash"], org: row["org"], nonceHash: row["nonce_hash"], sealedVerifier: Array(row["verifier"] as Data),
            browserBindingHash: row["browser_binding_hash"], next: row["next"], createdAt: try Self.time(row, "created_at"),
            expiresAt: try Self.time(row, "expires_at"))
    }
}

// MARK: - Person sessions

extension SQLiteStore {
    public func createPersonSession(idHash: String, person: OwnerRef, expiresAt: Date, now: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM person_sessions WHERE expires_at <= ?", arguments: [Self.time(now)])
            try db.execute(
                sql: "INSERT INTO person_sessions (id_hash, person, org, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [idHash, person.description, person.org, Self.time(expiresAt)])
        }
    }

    public func personSession(idHash: String, now: Date) async throws -> (person: OwnerRef, expiresAt: Date)? {
        // Sendable values out of the read (a `Row` is not), so the asynchronous read is the one called.
        let found = try await pool.read { db -> (person: String, expiry: Double)? in
            try Row.fetchOne(db, sql: "SELECT person, expires_at FROM person_sessions WHERE id_hash = ?", arguments: [idHash])
                .map { ($0["person"], $0["expires_at"]) }
        }
        guard let found, let person = try? OwnerRef(parsing: found.person) else { return nil }
        let expiry = found.expiry
        guard expiry > Self.time(now) else {
            try await write { db in
                try db.execute(sql: "DELETE FROM person_sessions WHERE id_hash = ? AND expires_at <= ?", arguments: [idHash, Self.time(now)])
            }
            return nil
        }
        return (person, try StoredTime.required(expiry, "expires_at"))
    }

    public func deletePersonSession(idHash: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM person_sessions WHERE id_hash = ?", arguments: [idHash]) }
    }

    public func endPersonSessions(under owner: OwnerRef) async throws -> Int {
        // People sit directly under their org: a user ends their own sessions, an org everyone's, any other owner none.
        let column: String, key: String
        switch owner.kind {
        case .user: (column, key) = ("person", owner.description)
        case .org: (column, key) = ("org", owner.org)
        case .team, .project, .agent: return 0
        }
        return try await write { db in
            try db.execute(sql: "DELETE FROM person_sessions WHERE \(column) = ?", arguments: [key])
            return db.changesCount
        }
    }

    public func setPersonSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE person_sessions SET message = ? WHERE id_hash = ?", arguments: [Data(sealed), idHash])
        }
    }

    public func takePersonSessionMessage(idHash: String) async throws -> [UInt8]? {
        // Writes are serialized, so the read and the clear form one step.
        try await write { db in
            guard let message = try Data.fetchOne(db, sql: "SELECT message FROM person_sessions WHERE id_hash = ?", arguments: [idHash])
            else { return nil }
            try db.execute(sql: "UPDATE person_sessions SET message = NULL WHERE id_hash = ?", arguments: [idHash])
            return Array(message)
        }
    }
}

// MARK: - Consents

extension SQLiteStore {
    public func grantConsent(_ c: Consent) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO consents (connection_id, grantee, person, granted_at, expires_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (connection_id, grantee) DO UPDATE SET person = excluded.person, granted_at = excluded.granted_at,
                        expires_at = excluded.expires_at
                    """,
                arguments: [c.connectionID.rawValue, c.grantee.description, c.person.description, Self.time(c.grantedAt), c.expiresAt.map(Self.time)])
        }
    }

    public func withdrawConsent(connectionID: ConnectionID, grantee: OwnerRef) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM consents WHERE connection_id = ? AND grantee = ?", arguments: [connectionID.rawValue, grantee.description])
            return db.changesCount > 0
        }
    }

    public func consents(person: OwnerRef) async throws -> [Consent] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM consents WHERE person = ? ORDER BY granted_at DESC, connection_id, grantee",
                arguments: [person.description]
            ).compactMap(Self.consent)
        }
    }

    public func liveConsent(connectionID: ConnectionID, grantees: [OwnerRef], now: Date) async throws -> Consent? {
        guard !grantees.isEmpty else { return nil }
        let refs = grantees.map(\.description)
        let live = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM consents WHERE connection_id = ? AND grantee IN (\(databaseQuestionMarks(count: refs.count)))
                    AND (expires_at IS NULL OR expires_at > ?)
                    """,
                arguments: StatementArguments([connectionID.rawValue] + refs) + [Self.time(now)]
            ).compactMap(Self.consent)
        }
        // Of several, the one held by the grantee named first (an agent before its project).
        return grantees.lazy.compactMap { grantee in live.first { $0.grantee == grantee } }.first
    }

    static func consent(_ row: Row) throws -> Consent? {
        guard let grantee = try? OwnerRef(parsing: row["grantee"]), let person = try? OwnerRef(parsing: row["person"]) else { return nil }
        return Consent(
            connectionID: ConnectionID(rawValue: row["connection_id"]), grantee: grantee, person: person, grantedAt: try Self.time(row, "granted_at"),
            expiresAt: try Self.optionalTime(row, "expires_at"))
    }
}
