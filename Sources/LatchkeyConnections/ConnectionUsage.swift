import Foundation
import LatchkeyModel
import LatchkeyStore
import Synchronization

/// Records in the audit log which agents use a person's connections (`connection.used`), so the person sees it at
/// `/me`. At most once per connection and agent per `interval` in each process: the hot path pays a dictionary look-up.
public final class ConnectionUsage: Sendable {
    private let lastNoted = Mutex<[String: Date]>([:])
    let interval: TimeInterval

    public init(interval: TimeInterval = 60) { self.interval = interval }

    /// Whether this use should be recorded now (and remembers that it was).
    public func shouldRecord(connection: ConnectionID, agent: OwnerRef, now: Date) -> Bool {
        let key = connection.rawValue + "|" + agent.description
        return lastNoted.withLock { map in
            if let last = map[key], now.timeIntervalSince(last) < interval { return false }
            if map.count >= 10_000 { map.removeAll() }
            map[key] = now
            return true
        }
    }
}
