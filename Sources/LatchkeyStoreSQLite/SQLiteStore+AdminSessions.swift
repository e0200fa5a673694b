import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Dashboard sessions

extension SQLiteStore {
    public func createAdminSession(idHash: String, expiresAt: Date, now: Date, capacity: Int) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE expires_at <= ?", arguments: [Self.time(now)])
            let live = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM admin_sessions")) ?? 0
            if live >= capacity {
                try db.execute(
                    sql: """
                        DELETE FROM admin_sessions WHERE id_hash IN
                            (SELECT id_hash FROM admin_sessions ORDER BY expires_at, id_hash LIMIT ?)
                        """,
                    arguments: [live - capacity + 1])
            }
            try db.execute(
                sql: "INSERT INTO admin_sessions (id_hash, expires_at) VALUES (?, ?)", arguments: [idHash, Self.time(expiresAt)])
        }
    }

    public func adminSessionExpiry(idHash: String, now: Date) async throws -> Date? {
        let expiry = try await pool.read { db in
            try Double.fetchOne(db.cachedStatement(sql: "SELECT expires_at FROM admin_sessions WHERE id_hash = ?"), arguments: [idHash])
        }
        guard let expiry else { return nil }
        guard expiry > Self.time(now) else {
            try await deleteSession(.admin, idHash: idHash, expiredAt: now)
            return nil
        }
        return Self.date(expiry)
    }
}
