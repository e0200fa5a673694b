import Foundation
import LatchkeyModel

/// Calls and credits of one agent on one provider in one UTC day, on managed or own credentials.
public struct DailyUsage: Sendable, Equatable, Hashable {
    public var org: String
    /// Days since 1970-01-01, UTC.
    public var day: Int
    public var provider: ProviderID
    /// `agent:...`, or `admin`.
    public var agent: String
    public var credentials: CredentialSource
    public var calls: Int
    public var credits: Int

    public init(org: String, day: Int, provider: ProviderID, agent: String, credentials: CredentialSource, calls: Int, credits: Int) {
        self.org = org
        self.day = day
        self.provider = provider
        self.agent = agent
        self.credentials = credentials
        self.calls = calls
        self.credits = credits
    }

    /// The UTC day of `time`, in days since 1970.
    public static func day(of time: Date) -> Int { Int((time.timeIntervalSince1970 / 86_400).rounded(.down)) }
}

/// Each org's calls per day, provider, agent and credential source, summed over every replica.
///
/// Contract: `addUsage` adds each row's calls and credits to what is stored for its key (org, day, provider, agent,
/// credentials), atomically per call; `usage(org:sinceDay:)` lists an org's rows from that day on, by day, provider,
/// agent, then credentials; `purgeUsage(beforeDay:)` deletes older days.
public protocol UsageStore: Sendable {
    func addUsage(_ rows: [DailyUsage]) async throws
    func usage(org: String, sinceDay: Int) async throws -> [DailyUsage]
    func purgeUsage(beforeDay: Int) async throws -> Int
}
