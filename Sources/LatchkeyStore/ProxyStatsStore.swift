import Foundation
import LatchkeyModel

/// Proxied calls of one provider in one hour: how many completed and how many failed.
public struct ProxyHourCounts: Sendable, Equatable {
    public var provider: ProviderID
    /// Whole hours since the Unix epoch (UTC).
    public var hour: Int
    public var succeeded: Int
    public var failed: Int

    public init(provider: ProviderID, hour: Int, succeeded: Int, failed: Int) {
        self.provider = provider
        self.hour = hour
        self.succeeded = succeeded
        self.failed = failed
    }

    /// The hour `time` falls in.
    public static func hour(of time: Date) -> Int { Int((time.timeIntervalSince1970 / 3600).rounded(.down)) }
}

/// Proxy call counts per provider and hour, summed over every replica that adds to them.
///
/// Contract:
/// - `addProxyCounts` adds each row's counts to the stored row of its provider and hour (creating it with those
///   counts), all in one transaction; concurrent adders never lose each other's counts. Rows of one call have
///   distinct (provider, hour).
/// - `proxyCounts` returns the stored rows of hours from `fromHour` on, of `provider` (every provider when nil).
/// - `purgeProxyCounts` deletes the rows of hours before `beforeHour` and returns how many.
public protocol ProxyStatsStore: Sendable {
    func addProxyCounts(_ deltas: [ProxyHourCounts]) async throws
    func proxyCounts(fromHour: Int, provider: ProviderID?) async throws -> [ProxyHourCounts]
    func purgeProxyCounts(beforeHour: Int) async throws -> Int
}
