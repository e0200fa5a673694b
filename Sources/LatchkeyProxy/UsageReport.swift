import Foundation
import LatchkeyModel
import LatchkeyStore

/// An org's usage, as the admin API and the org's page show it: totals per provider, agent and credential source,
/// and the last days, one row per day, provider, agent and source.
public struct UsageReport: Sendable, Equatable {
    /// Calls of one agent on one provider, on managed or own credentials.
    public struct Total: Sendable, Equatable, Encodable {
        public var provider: String
        public var agent: String
        public var credentials: String
        public var calls: Int
        public var credits: Int
    }

    public var totals: [Total]
    /// The last `days` days, oldest first; days without calls have no rows.
    public var daily: [DailyUsage]

    /// Days in `daily`, today included.
    public static let days = 30

    /// `org`'s report at `now`. Managed totals are the credit pool's exact draws; own totals are the ledger's, over
    /// the days it keeps.
    public static func of(org: String, store: any CreditStore, ledger: UsageLedger, now: Date) async throws -> UsageReport {
        let today = DailyUsage.day(of: now)
        async let drawn = store.creditUsage(org: org)
        async let kept = ledger.usage(org: org, sinceDay: today - UsageLedger.retentionDays)
        let rows = try await kept
        var own: [String: Total] = [:]
        for row in rows where row.credentials == .own {
            let key = "\(row.provider.rawValue)\u{0}\(row.agent)"
            var total = own[key] ?? Total(provider: row.provider.rawValue, agent: row.agent, credentials: CredentialSource.own.rawValue, calls: 0, credits: 0)
            total.calls += row.calls
            own[key] = total
        }
        let managed = try await drawn.map {
            Total(provider: $0.provider, agent: $0.agent, credentials: CredentialSource.managed.rawValue, calls: $0.calls, credits: $0.credits)
        }
        let totals = (managed + own.values).sorted { ($0.provider, $0.agent, $0.credentials) < ($1.provider, $1.agent, $1.credentials) }
        return UsageReport(totals: totals, daily: rows.filter { $0.day > today - days })
    }
}
