import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

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
            try await deleteSession(.person, idHash: idHash, expiredAt: now)
            return nil
        }
        return (person, try StoredTime.required(expiry, "expires_at"))
    }

    public func endPersonSessions(under owner: OwnerRef) async throws -> Int {
        // People sit directly under their org: a user ends their own sessions, an org everyone's, any other owner none.
        switch owner.kind {
        case .user: try await execute("DELETE FROM person_sessions WHERE person = \(owner.description) RETURNING 1").count
        case .org: try await execute("DELETE FROM person_sessions WHERE org = \(owner.org) RETURNING 1").count
        case .team, .project, .agent, .platform: 0
        }
    }
}
