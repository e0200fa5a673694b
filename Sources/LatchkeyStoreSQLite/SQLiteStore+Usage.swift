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
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM usage_daily WHERE org = ? AND day >= ? ORDER BY day, provider, agent, credentials"),
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
        guard let credentials = try Self.optional(row, "credentials", as: String.self).flatMap(CredentialSource.init(rawValue:)) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        for column in ["day", "calls", "credits"] where Int.fromDatabaseValue(row[column] as DatabaseValue) == nil {
            throw LatchkeyError.malformedRow(column: column)
        }
        return DailyUsage(
            org: try Self.required(row, "org", as: String.self), day: try Self.required(row, "day", as: Int.self),
            provider: ProviderID(try Self.required(row, "provider", as: String.self)), agent: try Self.required(row, "agent", as: String.self),
            credentials: credentials, calls: try Self.required(row, "calls", as: Int.self), credits: try Self.required(row, "credits", as: Int.self))
    }
}
