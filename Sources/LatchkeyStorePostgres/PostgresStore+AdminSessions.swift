import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Dashboard sessions

extension PostgresStore {
    public func createAdminSession(idHash: String, expiresAt: Date, now: Date, capacity: Int) async throws {
        try await transaction { tx in
            // Sign-ins on several replicas at once take turns, so none of them counts before another's insert and the
            // cap holds.
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtext('latchkey.admin_sessions'))")
            try await tx.execute("DELETE FROM admin_sessions WHERE expires_at <= \(Self.time(now))")
            let live = try await tx.execute("SELECT COUNT(*) AS live FROM admin_sessions").first?.value("live", as: Int.self) ?? 0
            if live >= capacity {
                try await tx.execute(
                    """
                    DELETE FROM admin_sessions WHERE id_hash IN
                        (SELECT id_hash FROM admin_sessions ORDER BY expires_at, id_hash LIMIT \(live - capacity + 1))
                    """)
            }
            try await tx.execute("INSERT INTO admin_sessions (id_hash, expires_at) VALUES (\(idHash), \(Self.time(expiresAt)))")
        }
    }

    public func adminSessionExpiry(idHash: String, now: Date) async throws -> Date? {
        guard let expiry = try await execute("SELECT expires_at FROM admin_sessions WHERE id_hash = \(idHash)").first?
            .value("expires_at", as: Double.self)
        else { return nil }
        guard expiry > Self.time(now) else {
            try await deleteSession(.admin, idHash: idHash, expiredAt: now)
            return nil
        }
        return Self.date(expiry)
    }
}
