import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Dashboard sessions

extension SQLiteStore {
    public func createAdminSession(idHash: String, expiresAt: Date, now: Date, capacity: Int) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE expires_at <= ?", arguments: [Self.time(now)])
            let live = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM admin_sessions") ?? 0
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
            try Double.fetchOne(db, sql: "SELECT expires_at FROM admin_sessions WHERE id_hash = ?", arguments: [idHash])
        }
        guard let expiry else { return nil }
        guard expiry > Self.time(now) else {
            try await write { db in
                try db.execute(sql: "DELETE FROM admin_sessions WHERE id_hash = ? AND expires_at <= ?", arguments: [idHash, Self.time(now)])
            }
            return nil
        }
        return Self.date(expiry)
    }

    public func deleteAdminSession(idHash: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM admin_sessions WHERE id_hash = ?", arguments: [idHash]) }
    }

    public func setAdminSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE admin_sessions SET message = ? WHERE id_hash = ?", arguments: [Data(sealed), idHash])
        }
    }

    public func takeAdminSessionMessage(idHash: String) async throws -> [UInt8]? {
        // Writes are serialized, so the read and the clear form one step.
        try await write { db in
            guard let message = try Data.fetchOne(db, sql: "SELECT message FROM admin_sessions WHERE id_hash = ?", arguments: [idHash])
            else { return nil }
            try db.execute(sql: "UPDATE admin_sessions SET message = NULL WHERE id_hash = ?", arguments: [idHash])
            return Array(message)
        }
    }
}

// MARK: - Proxy call counts

extension SQLiteStore {
    public func addProxyCounts(_ deltas: [ProxyHourCounts]) async throws {
        guard !deltas.isEmpty else { return }
        try await write { db in
            for d in deltas {
                try db.execute(
                    sql: """
                        INSERT INTO proxy_call_counts (provider, hour, succeeded, failed) VALUES (?, ?, ?, ?)
                        ON CONFLICT (hour, provider) DO UPDATE SET
                            succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed
                        """,
                    arguments: [d.provider.rawValue, d.hour, d.succeeded, d.failed])
            }
        }
    }

    public func proxyCounts(fromHour: Int, provider: ProviderID?) async throws -> [ProxyHourCounts] {
        var filter = Filter([("provider", provider?.rawValue)])
        filter.add("hour >= ?", fromHour)
        let sql = "SELECT provider, hour, succeeded, failed FROM proxy_call_counts" + filter.whereSQL + " ORDER BY provider, hour"
        let arguments: StatementArguments = StatementArguments(filter.arguments.map { $0 as any DatabaseValueConvertible })
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                ProxyHourCounts(provider: ProviderID(row["provider"] as String), hour: row["hour"], succeeded: row["succeeded"], failed: row["failed"])
            }
        }
    }

    public func purgeProxyCounts(beforeHour: Int) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM proxy_call_counts WHERE hour < ?", arguments: [beforeHour])
            return db.changesCount
        }
    }
}
