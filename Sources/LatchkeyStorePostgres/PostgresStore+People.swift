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
