import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - People

extension PostgresStore {
    public func setPerson(_ person: OwnerRef, email: String?) async throws {
        let email = email?.lowercased()
        try await transaction { tx in
            // FOR SHARE keeps the user from going away before this upsert commits.
            if try await tx.execute("SELECT 1 FROM owners WHERE ref = \(person.description) AND kind = 'user' FOR SHARE").isEmpty {
                throw LatchkeyError(.notFound, "\(person) does not exist", field: "person")
            }
            if let email,
                try await !tx.execute(
                    "SELECT 1 FROM people WHERE org = \(person.org) AND email = \(email) AND person <> \(person.description)"
                ).isEmpty
            {
                throw Self.emailTaken(person)
            }
            do {
                try await tx.execute(
                    """
                    INSERT INTO people (person, org, email) VALUES (\(person.description), \(person.org), \(email))
                    ON CONFLICT (person) DO UPDATE SET email = excluded.email
                    """)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                // Another replica registered the email for someone else between the check and the upsert.
                throw Self.emailTaken(person)
            }
        }
    }

    static func emailTaken(_ person: OwnerRef) -> LatchkeyError {
        LatchkeyError(.conflict, "another person of \(person.org) has this email", field: "email")
    }

    public func person(_ person: OwnerRef) async throws -> PersonRecord? {
        try await execute("SELECT * FROM people WHERE person = \(person.description)").first.flatMap(Self.personRecord)
    }

    public func person(org: String, email: String) async throws -> PersonRecord? {
        try await execute("SELECT * FROM people WHERE org = \(org) AND email = \(email.lowercased())").first.flatMap(Self.personRecord)
    }

    public func person(org: String, issuer: String, subject: String) async throws -> PersonRecord? {
        try await execute("SELECT * FROM people WHERE org = \(org) AND issuer = \(issuer) AND subject = \(subject)").first.flatMap(Self.personRecord)
    }

    public func recordSubject(_ person: OwnerRef, issuer: String, subject: String) async throws -> Bool {
        do {
            // A racing caller for the same person waits on the row lock, then re-checks `subject IS NULL`.
            return try await !execute(
                """
                UPDATE people SET issuer = \(issuer), subject = \(subject) WHERE person = \(person.description) AND subject IS NULL
                RETURNING 1
                """
            ).isEmpty
        } catch let error as LatchkeyError where error.code == .conflict {
            // The unique (org, issuer, subject) index: another person of the org holds it.
            return false
        }
    }

    static func personRecord(_ row: PostgresRandomAccessRow) throws -> PersonRecord? {
        guard let person = try? OwnerRef(parsing: try row.value("person", as: String.self)) else { return nil }
        return PersonRecord(person: person, email: try row.value("email"), issuer: try row.value("issuer"), subject: try row.value("subject"))
    }
}

// MARK: - Sign-in providers, links and states

extension PostgresStore {
    public func putSignInProvider(_ p: SignInProvider) async throws {
        try await execute(
            """
            INSERT INTO sign_in_providers (org, issuer, client_id, client_secret, updated_at)
            VALUES (\(p.org), \(p.issuer), \(p.clientID), \(p.sealedClientSecret.map(Self.bytes)), \(Self.time(p.updatedAt)))
            ON CONFLICT (org) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
                client_secret = excluded.client_secret, updated_at = excluded.updated_at
            """)
    }

    public func signInProvider(org: String) async throws -> SignInProvider? {
        guard let row = try await execute("SELECT * FROM sign_in_providers WHERE org = \(org)").first else { return nil }
        return SignInProvider(
            org: try row.value("org"), issuer: try row.value("issuer"), clientID: try row.value("client_id"),
            sealedClientSecret: Self.bytes(try row.value("client_secret", as: ByteBuffer?.self)), updatedAt: try StoredTime.required(try row.value("updated_at"), "updated_at"))
    }

    public func createSignInLink(tokenHash: String, person: OwnerRef, createdAt: Date, expiresAt: Date) async throws {
        try await execute(
            """
            INSERT INTO sign_in_links (token_hash, person, created_at, expires_at)
            VALUES (\(tokenHash), \(person.description), \(Self.time(createdAt)), \(Self.time(expiresAt)))
            """)
    }

    public func useSignInLink(tokenHash: String, at: Date) async throws -> SignInLinkUse {
        // A racing caller waits on the row lock, then re-checks `used_at IS NULL` and finds it set.
        if let row = try await execute(
            """
            UPDATE sign_in_links SET used_at = \(Self.time(at))
            WHERE token_hash = \(tokenHash) AND used_at IS NULL AND expires_at > \(Self.time(at)) RETURNING person
            """
        ).first {
            return (try? OwnerRef(parsing: try row.value("person", as: String.self))).map(SignInLinkUse.person) ?? .unknown
        }
        // Nothing was updated: say why. A link only goes from unused to used, so this read cannot contradict the update.
        guard let row = try await execute("SELECT used_at FROM sign_in_links WHERE token_hash = \(tokenHash)").first else { return .unknown }
        return try row.value("used_at", as: Double?.self) == nil ? .expired : .alreadyUsed
    }

    public func createSignInState(_ s: SignInState) async throws {
        try await execute(
            """
            INSERT INTO sign_in_states (state_hash, org, nonce_hash, verifier, browser_binding_hash, next, created_at, expires_at)
            VALUES (\(s.stateHash), \(s.org), \(s.nonceHash), \(Self.bytes(s.sealedVerifier)), \(s.browserBindingHash), \(s.next),
                \(Self.time(s.createdAt)), \(Self.time(s.expiresAt)))
            """)
    }

    public func signInState(hash: String) async throws -> SignInState? {
        try await execute("SELECT * FROM sign_in_states WHERE state_hash = \(hash)").first.map(Self.signInState)
    }

    public func consumeSignInState(hash: String) async throws -> SignInState? {
        // DELETE … RETURNING: of concurrent callers, one deletes the row and gets it; the others find nothing.
        try await execute("DELETE FROM sign_in_states WHERE state_hash = \(hash) RETURNING *").first.map(Self.signInState)
    }

    static func signInState(_ row: PostgresRandomAccessRow) throws -> SignInState {
        SignInState(
            stateHash: try row.value("state_hash"), org: try row.value("org"), nonceHash: try row.value("nonce_hash"),
            sealedVerifier: bytes(try row.value("verifier", as: ByteBuffer.self)) ?? [], browserBindingHash: try row.value("browser_binding_hash"),
            next: try row.value("next"), createdAt: try StoredTime.required(try row.value("created_at"), "created_at"), expiresAt: try StoredTime.required(try row.value("expires_at"), "expires_at"))
    }
}

// MARK: - Person sessions

extension PostgresStore {
    public func createPersonSession(idHash: String, person: OwnerRef, expiresAt: Date, now: Date) async throws {
        try await transaction { tx in
            try await tx.execute("DELETE FROM person_sessions WHERE expires_at <= \(Self.time(now))")
            try await tx.execute(
                """
                INSERT INTO person_sessions (id_hash, person, org, expires_at)
                VALUES (\(idHash), \(person.description), \(person.org), \(Self.time(expiresAt)))
                """)
        }
    }

    public func personSession(idHash: String, now: Date) async throws -> (person: OwnerRef, expiresAt: Date)? {
        guard let row = try await execute("SELECT person, expires_at FROM person_sessions WHERE id_hash = \(idHash)").first,
            let person = try? OwnerRef(parsing: try row.value("person", as: String.self))
        else { return nil }
        let expiry = try row.value("expires_at", as: Double.self)
        guard expiry > Self.time(now) else {
            try await execute("DELETE FROM person_sessions WHERE id_hash = \(idHash) AND expires_at <= \(Self.time(now))")
            return nil
        }
        return (person, try StoredTime.required(expiry, "expires_at"))
    }

    public func deletePersonSession(idHash: String) async throws {
        try await execute("DELETE FROM person_sessions WHERE id_hash = \(idHash)")
    }

    public func endPersonSessions(under owner: OwnerRef) async throws -> Int {
        // People sit directly under their org: a user ends their own sessions, an org everyone's, any other owner none.
        switch owner.kind {
        case .user: try await execute("DELETE FROM person_sessions WHERE person = \(owner.description) RETURNING 1").count
        case .org: try await execute("DELETE FROM person_sessions WHERE org = \(owner.org) RETURNING 1").count
        case .team, .project, .agent: 0
        }
    }

    public func setPersonSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        try await execute("UPDATE person_sessions SET message = \(Self.bytes(sealed)) WHERE id_hash = \(idHash)")
    }

    public func takePersonSessionMessage(idHash: String) async throws -> [UInt8]? {
        // The row lock makes a concurrent taker wait, then read the cleared message.
        try await transaction { tx in
            guard let row = try await tx.execute("SELECT message FROM person_sessions WHERE id_hash = \(idHash) FOR UPDATE").first,
                let message = try row.value("message", as: ByteBuffer?.self)
            else { return nil }
            try await tx.execute("UPDATE person_sessions SET message = NULL WHERE id_hash = \(idHash)")
            return Self.bytes(message)
        }
    }
}

// MARK: - Consents

extension PostgresStore {
    public func grantConsent(_ c: Consent) async throws {
        try await execute(
            """
            INSERT INTO consents (connection_id, grantee, person, granted_at, expires_at)
            VALUES (\(c.connectionID.rawValue), \(c.grantee.description), \(c.person.description), \(Self.time(c.grantedAt)),
                \(c.expiresAt.map(Self.time)))
            ON CONFLICT (connection_id, grantee) DO UPDATE SET person = excluded.person, granted_at = excluded.granted_at,
                expires_at = excluded.expires_at
            """)
    }

    public func withdrawConsent(connectionID: ConnectionID, grantee: OwnerRef) async throws -> Bool {
        try await !execute(
            "DELETE FROM consents WHERE connection_id = \(connectionID.rawValue) AND grantee = \(grantee.description) RETURNING 1"
        ).isEmpty
    }

    public func consents(person: OwnerRef) async throws -> [Consent] {
        try await execute("SELECT * FROM consents WHERE person = \(person.description) ORDER BY granted_at DESC, connection_id, grantee")
            .compactMap(Self.consent)
    }

    public func liveConsent(connectionID: ConnectionID, grantees: [OwnerRef], now: Date) async throws -> Consent? {
        guard !grantees.isEmpty else { return nil }
        let live = try await execute(
            """
            SELECT * FROM consents WHERE connection_id = \(connectionID.rawValue) AND grantee = ANY(\(grantees.map(\.description)))
            AND (expires_at IS NULL OR expires_at > \(Self.time(now)))
            """
        ).compactMap(Self.consent)
        // Of several, the one held by the grantee named first (an agent before its project).
        return grantees.lazy.compactMap { grantee in live.first { $0.grantee == grantee } }.first
    }

    static func consent(_ row: PostgresRandomAccessRow) throws -> Consent? {
        guard let grantee = try? OwnerRef(parsing: try row.value("grantee", as: String.self)),
            let person = try? OwnerRef(parsing: try row.value("person", as: String.self))
        else { return nil }
        return Consent(
            connectionID: ConnectionID(rawValue: try row.value("connection_id")), grantee: grantee, person: person,
            grantedAt: try StoredTime.required(try row.value("granted_at"), "granted_at"), expiresAt: date(try row.value("expires_at")))
    }
}
