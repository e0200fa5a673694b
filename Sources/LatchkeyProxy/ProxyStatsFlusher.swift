import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging
import ServiceLifecycle

/// Adds this process's proxy call counts and usage to the store every `interval`, so every replica's dashboard shows
/// every replica's calls; once an hour it deletes hours older than `retentionHours` and usage days older than
/// `UsageLedger.retentionDays`.
///
/// On graceful shutdown the sleep is cut short and one last flush runs. Hummingbird shuts its HTTP server down
/// before the services beside it, so by then no call is still being counted. A flush in progress is never cancelled
/// by a graceful shutdown: one cut off after its commit would be retried and counted twice.
public struct ProxyStatsFlusher: Service {
    let stats: ProxyStats
    let usage: UsageLedger
    let store: any ProxyStatsStore & UsageStore
    let interval: Duration
    let clock: any LatchkeyClock
    let logger: Logger
    /// Hours kept in the store: twice the dashboard's window.
    var retentionHours = 2 * ProxyStats.window

    public init(
        stats: ProxyStats, usage: UsageLedger, store: any ProxyStatsStore & UsageStore, interval: Duration, clock: any LatchkeyClock,
        logger: Logger
    ) {
        self.stats = stats
        self.usage = usage
        self.store = store
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        var prunedAt: Date?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) }
            do { try await stats.flush(now: clock.now) } catch {
                logger.warning("proxy call counts could not be written; kept for the next flush", metadata: ["error": "\(type(of: error))"])
            }
            do { try await usage.flush() } catch {
                logger.warning("usage counts could not be written; kept for the next flush", metadata: ["error": "\(type(of: error))"])
            }
            if prunedAt.map({ clock.now.timeIntervalSince($0) >= 3600 }) ?? true {
                prunedAt = clock.now
                _ = try? await store.purgeProxyCounts(beforeHour: ProxyHourCounts.hour(of: clock.now) - retentionHours)
                _ = try? await store.purgeUsage(beforeDay: DailyUsage.day(of: clock.now) - UsageLedger.retentionDays)
            }
        }
    }
}
