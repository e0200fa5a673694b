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
struct BackgroundRefresher: Service {
    let services: LatchkeyServices
    let broker: TokenBroker
    var concurrency = 16
    var batch = 500
    var maxSleep: TimeInterval = 30
    var maxJitter: Duration = .milliseconds(50)

    func run() async throws {
        // On graceful shutdown the loop is cancelled mid-sleep; that is a normal end, not a failure.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let sleep = await pass()
                // A new connection wakes the refresher early, so its first token is refreshed ahead of time too.
                await services.refresherWake.wait(timeout: .interval(sleep), clock: services.clock)
            }
        }
    }

    /// The shortest sleep between passes.
    static let minimumSleep: TimeInterval = 0.2

    /// One pass: refreshes what is due and returns how long to sleep.
    func pass() async -> TimeInterval {
        let now = services.clock.now
        let horizon = now.addingTimeInterval(broker.refreshWindow + maxSleep)
        let upcoming: [StoredConnection]
        do {
            upcoming = try await services.store.connectionsExpiring(before: horizon, limit: batch)
        } catch {
            services.logger.error("background refresher could not list connections")
            return maxSleep
        }
        // A connection that keeps failing waits for its backoff, whatever is due.
        let due = upcoming.filter { broker.isDue($0.connection) && broker.backingOffUntil($0.connection.id) == nil }
        let started = services.clock.now
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for stored in due {
                if running == concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask {
                    try? await services.clock.sleep(for: maxJitter * Double.random(in: 0...1))
                    _ = try? await broker.credential(for: stored)
                }
            }
        }
        services.logger.debug(
            "background refresher pass", metadata: ["listed": "\(upcoming.count)", "due": "\(due.count)", "took_ms": "\(Int(services.clock.now.timeIntervalSince(started) * 1000))"])
        // More may have fallen due while this pass ran: look again soon.
        if !due.isEmpty { return Self.minimumSleep }
        // Otherwise sleep until the next token falls due, or the next backoff ends.
        let wakes = upcoming.compactMap { stored in broker.backingOffUntil(stored.connection.id) ?? broker.dueAt(stored.connection) }
        guard let next = wakes.min() else { return maxSleep }
        return min(maxSleep, max(Self.minimumSleep, next.timeIntervalSince(services.clock.now)))
    }
}
