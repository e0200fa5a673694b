import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

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
            try Row.fetchOne(db.cachedStatement(sql: "SELECT person, expires_at FROM person_sessions WHERE id_hash = ?"), arguments: [idHash])
                .map { (try Self.required($0, "person", as: String.self), try Self.required($0, "expires_at", as: Double.self)) }
        }
        guard let found, let person = try? OwnerRef(parsing: found.person) else { return nil }
        let expiry = found.expiry
        guard expiry > Self.time(now) else {
            try await deleteSession(.person, idHash: idHash, expiredAt: now)
            return nil
        }
        return (person, try StoredTime.required(expiry, "expires_at"))
    }

    public func endPersonSessions(under owner: OwnerRef) async throws -> Int {
        // People sit directly under their org: a user ends their own sessions, an org everyone's, any other owner none.
        let column: String, key: String
        switch owner.kind {
        case .user: (column, key) = ("person", owner.description)
        case .org: (column, key) = ("org", owner.org)
        case .team, .project, .agent, .platform: return 0
        }
        return try await write { db in
            try db.execute(sql: "DELETE FROM person_sessions WHERE \(column) = ?", arguments: [key])
            return db.changesCount
        }
    }
}
