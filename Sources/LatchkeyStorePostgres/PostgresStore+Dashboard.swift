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
            try await execute("DELETE FROM admin_sessions WHERE id_hash = \(idHash) AND expires_at <= \(Self.time(now))")
            return nil
        }
        return Self.date(expiry)
    }

    public func deleteAdminSession(idHash: String) async throws {
        try await execute("DELETE FROM admin_sessions WHERE id_hash = \(idHash)")
    }

    public func setAdminSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        try await execute("UPDATE admin_sessions SET message = \(Self.bytes(sealed)) WHERE id_hash = \(idHash)")
    }

    public func takeAdminSessionMessage(idHash: String) async throws -> [UInt8]? {
        // The row lock makes a concurrent taker wait, then read the cleared message.
        try await transaction { tx in
            guard let row = try await tx.execute("SELECT message FROM admin_sessions WHERE id_hash = \(idHash) FOR UPDATE").first,
                let message = try row.value("message", as: ByteBuffer?.self)
            else { return nil }
            try await tx.execute("UPDATE admin_sessions SET message = NULL WHERE id_hash = \(idHash)")
            return Self.bytes(message)
        }
    }
}

// MARK: - Proxy call counts

extension PostgresStore {
    public func addProxyCounts(_ deltas: [ProxyHourCounts]) async throws {
        guard !deltas.isEmpty else { return }
        // Every replica upserts its rows in the same order, so two flushes touching the same rows wait on each other
        // instead of deadlocking.
        let ordered = deltas.sorted { ($0.hour, $0.provider.rawValue) < ($1.hour, $1.provider.rawValue) }
        try await transaction { tx in
            for d in ordered {
                try await tx.execute(
                    """
                    INSERT INTO proxy_call_counts (provider, hour, succeeded, failed) VALUES (\(d.provider.rawValue), \(d.hour), \(d.succeeded), \(d.failed))
                    ON CONFLICT (hour, provider) DO UPDATE SET
                        succeeded = proxy_call_counts.succeeded + excluded.succeeded, failed = proxy_call_counts.failed + excluded.failed
                    """)
            }
        }
    }

    public func proxyCounts(fromHour: Int, provider: ProviderID?) async throws -> [ProxyHourCounts] {
        var filter = PostgresFilter([("provider", provider?.rawValue)])
        filter.add("hour >= $?", fromHour)
        let sql = "SELECT provider, hour, succeeded, failed FROM proxy_call_counts\(filter.whereSQL) ORDER BY provider, hour"
        return try await execute(PostgresQuery(unsafeSQL: sql, binds: filter.binds)).map { row in
            ProxyHourCounts(
                provider: ProviderID(try row.value("provider", as: String.self)), hour: try row.value("hour"), succeeded: try row.value("succeeded"),
                failed: try row.value("failed"))
        }
    }

    public func purgeProxyCounts(beforeHour: Int) async throws -> Int {
        try await execute("DELETE FROM proxy_call_counts WHERE hour < \(beforeHour) RETURNING 1").count
    }
}
