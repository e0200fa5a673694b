import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

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
                ProxyHourCounts(
                    provider: ProviderID(try Self.required(row, "provider", as: String.self)), hour: try Self.required(row, "hour", as: Int.self),
                    succeeded: try Self.required(row, "succeeded", as: Int.self), failed: try Self.required(row, "failed", as: Int.self))
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
