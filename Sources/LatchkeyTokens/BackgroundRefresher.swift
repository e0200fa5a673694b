import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging
import ServiceLifecycle

/// Refreshes OAuth tokens before calls need them, scheduled from their `expires_at`.
///
/// Each pass takes the connections whose tokens are due (the broker's rule: within the refresh window, never
/// earlier than the last quarter of their lifetime), refreshes at most `concurrency` at a time with a little
/// jitter so a fleet that connected together does not refresh together, and sleeps until the next token falls
/// due (between one second and `maxSleep`). Refreshes go through the broker, so they join any refresh a call
/// started, and a failing connection is backed off by the broker's own rules.
public struct BackgroundRefresher: Service {
    let store: any ConnectionStore
    let broker: TokenBroker
    /// Wakes the refresher early (a connection was just connected).
    let wakeup: WakeSignal
    let clock: any LatchkeyClock
    let logger: Logger
    public var concurrency = 16
    public var batch = 500
    public var maxSleep: TimeInterval = 30
    public var maxJitter: Duration = .milliseconds(50)

    public init(store: any ConnectionStore, broker: TokenBroker, wakeup: WakeSignal, clock: any LatchkeyClock, logger: Logger) {
        self.store = store
        self.broker = broker
        self.wakeup = wakeup
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        // On graceful shutdown the loop is cancelled mid-sleep; that is a normal end, not a failure.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let sleep = await pass()
                // A new connection wakes the refresher early, so its first token is refreshed ahead of time too.
                await wakeup.wait(timeout: .interval(sleep), clock: clock)
            }
        }
    }

    /// The shortest sleep between passes.
    static let minimumSleep: TimeInterval = 0.2

    /// One pass: refreshes what is due and returns how long to sleep.
    public func pass() async -> TimeInterval {
        let now = clock.now
        let horizon = now.addingTimeInterval(broker.refreshWindow + maxSleep)
        let upcoming: [StoredConnection]
        do {
            upcoming = try await store.connectionsExpiring(before: horizon, limit: batch)
        } catch {
            logger.error("background refresher could not list connections")
            return maxSleep
        }
        // A connection that keeps failing waits for its backoff, whatever is due.
        let due = upcoming.filter { broker.isDue($0.connection) && broker.backingOffUntil($0.connection.id) == nil }
        let started = clock.now
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for stored in due {
                if running == concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask {
                    try? await clock.sleep(for: maxJitter * Double.random(in: 0...1))
                    _ = try? await broker.credential(for: stored)
                }
            }
        }
        logger.debug(
            "background refresher pass", metadata: ["listed": "\(upcoming.count)", "due": "\(due.count)", "took_ms": "\(Int(clock.now.timeIntervalSince(started) * 1000))"])
        // More may have fallen due while this pass ran: look again soon.
        if !due.isEmpty { return Self.minimumSleep }
        // Otherwise sleep until the next token falls due, or the next backoff ends.
        let wakes = upcoming.compactMap { stored in broker.backingOffUntil(stored.connection.id) ?? broker.dueAt(stored.connection) }
        guard let next = wakes.min() else { return maxSleep }
        return min(maxSleep, max(Self.minimumSleep, next.timeIntervalSince(clock.now)))
    }
}
