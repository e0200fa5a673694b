import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func addUsage(_ rows: [DailyUsage]) async throws {
        guard !rows.isEmpty else { return }
        // Every replica upserts in the same order, so two flushes touching the same rows wait instead of deadlocking.
        let ordered = rows.sorted {
            ($0.org, $0.day, $0.provider.rawValue, $0.agent, $0.credentials.rawValue) < ($1.org, $1.day, $1.provider.rawValue, $1.agent, $1.credentials.rawValue)
        }
        try await transaction { tx in
            for u in ordered {
                try await tx.execute(
                    """
                    INSERT INTO usage_daily (org, day, provider, agent, credentials, calls, credits)
                    VALUES (\(u.org), \(u.day), \(u.provider.rawValue), \(u.agent), \(u.credentials.rawValue), \(u.calls), \(u.credits))
                    ON CONFLICT (org, day, provider, agent, credentials) DO UPDATE SET
                        calls = usage_daily.calls + excluded.calls, credits = usage_daily.credits + excluded.credits
                    """)
            }
        }
    }

    public func usage(org: String, sinceDay: Int) async throws -> [DailyUsage] {
        try await execute(
            "SELECT * FROM usage_daily WHERE org = \(org) AND day >= \(sinceDay) ORDER BY day, provider, agent, credentials"
        ).map(Self.dailyUsage)
    }

    public func purgeUsage(beforeDay: Int) async throws -> Int {
        try await execute("DELETE FROM usage_daily WHERE day < \(beforeDay) RETURNING 1").count
    }

    static func dailyUsage(_ row: PostgresRandomAccessRow) throws -> DailyUsage {
        guard let credentials = CredentialSource(rawValue: try row.required("credentials")) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        return DailyUsage(
            org: try row.required("org"), day: try row.required("day"), provider: ProviderID(try row.required("provider", as: String.self)),
            agent: try row.required("agent"), credentials: credentials, calls: try row.required("calls"), credits: try row.required("credits"))
    }
}
