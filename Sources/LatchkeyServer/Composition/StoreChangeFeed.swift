import Foundation
import LatchkeyRuntime
import LatchkeyStore
import Logging
import ServiceLifecycle

/// Reads the store's change log every `interval` and tells the hot path's caches what changed anywhere (another
/// replica, another process on the same SQLite file), so that they can keep entries until a change instead of for one
/// second. Every minute it deletes changes older than ``retention``.
///
/// A failed read is logged once per failing streak; the caches fall back to their one-second lifetime until a read
/// succeeds again.
public struct StoreChangeFeed: Service {
    /// How long changes stay in the log: twice ``StoreChangeFollower/missedAfter``, so a follower that lags less than
    /// that never misses one.
    public static let retention: TimeInterval = 2 * StoreChangeFollower.missedAfter

    let follower: StoreChangeFollower
    let log: any StoreChangeLog
    let interval: Duration
    let clock: any LatchkeyClock
    let logger: Logger

    public init(follower: StoreChangeFollower, log: any StoreChangeLog, interval: Duration, clock: any LatchkeyClock, logger: Logger) {
        self.follower = follower
        self.log = log
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        var failing = false
        var prunedAt: Date?
        let clock = self.clock
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await follower.poll(now: clock.now, ended: { clock.now })
                if failing { logger.info("the store's change log is read again; caches keep entries until a change") }
                failing = false
            } catch {
                if !failing {
                    logger.warning(
                        "the store's change log could not be read; caches keep entries for one second", metadata: ["error": "\(type(of: error))"])
                }
                failing = true
            }
            if prunedAt.map({ clock.now.timeIntervalSince($0) >= 60 }) ?? true {
                prunedAt = clock.now
                _ = try? await log.pruneChanges(olderThan: Self.retention)
            }
            try? await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) }
        }
    }
}
