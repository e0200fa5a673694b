import Foundation
import LatchkeyModel
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
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let sleep = await pass()
                try await Task.sleep(for: .milliseconds(Int(sleep * 1000)))
            }
        }
    }

    /// One pass: refreshes what is due and returns how long to sleep.
    func pass() async -> TimeInterval {
        let now = services.now()
        let horizon = now.addingTimeInterval(broker.refreshWindow + maxSleep)
        let upcoming: [StoredConnection]
        do {
            upcoming = try await services.store.connectionsExpiring(before: horizon, limit: batch)
        } catch {
            services.logger.error("background refresher could not list connections")
            return maxSleep
        }
        let due = upcoming.filter { broker.isDue($0.connection) }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for stored in due {
                if running == concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask {
                    try? await Task.sleep(for: maxJitter * Double.random(in: 0...1))
                    _ = try? await broker.credential(for: stored)
                }
            }
        }
        if due.count == batch { return 1 }
        // Sleep until the next token that was not due falls due.
        let next = upcoming.filter { !broker.isDue($0.connection) }.compactMap { broker.dueAt($0.connection) }.min()
        guard let next else { return maxSleep }
        return min(maxSleep, max(1, next.timeIntervalSince(services.now())))
    }
}
