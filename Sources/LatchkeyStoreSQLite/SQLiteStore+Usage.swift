import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func addUsage(_ rows: [DailyUsage]) async throws {
        guard !rows.isEmpty else { return }
        try await write { db in
            for u in rows {
                try db.execute(
                    sql: """
                        INSERT INTO usage_daily (org, day, provider, agent, credentials, calls, credits) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (org, day, provider, agent, credentials) DO UPDATE SET
                            calls = calls + excluded.calls, credits = credits + excluded.credits
                        """,
                    arguments: [u.org, u.day, u.provider.rawValue, u.agent, u.credentials.rawValue, u.calls, u.credits])
            }
        }
    }

    public func usage(org: String, sinceDay: Int) async throws -> [DailyUsage] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM usage_daily WHERE org = ? AND day >= ? ORDER BY day, provider, agent, credentials",
                arguments: [org, sinceDay]
            ).map(Self.dailyUsage)
        }
    }

    public func purgeUsage(beforeDay: Int) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM usage_daily WHERE day < ?", arguments: [beforeDay])
            return db.changesCount
        }
    }

    static func dailyUsage(_ row: Row) throws -> DailyUsage {
        guard let credentials = (row["credentials"] as String?).flatMap(CredentialSource.init(rawValue:)) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        for column in ["day", "calls", "credits"] where Int.fromDatabaseValue(row[column] as DatabaseValue) == nil {
            throw LatchkeyError.malformedRow(column: column)
        }
        return DailyUsage(
            org: row["org"], day: row["day"], provider: ProviderID(row["provider"] as String), agent: row["agent"], credentials: credentials,
            calls: row["calls"], credits: row["credits"])
    }
}
