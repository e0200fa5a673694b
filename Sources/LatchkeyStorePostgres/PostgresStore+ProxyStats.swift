import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

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
