import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Agent keys recently found valid, for one second: a hot agent does not hit the store on every call, and calls that
/// miss together share one read.
/// Revocation in this process clears it at once; another replica's revocation takes effect within the second.
public final class AgentKeyCache: Sendable {
    private let entries = Mutex<[String: (agent: OwnerRef, until: Date)]>([:])
    /// Concurrent misses of one key share one store read.
    private let misses = SingleFlight<String, OwnerRef?>()
    let ttl: Duration
    let clock: any LatchkeyClock

    public init(ttl: Duration = .seconds(1), clock: any LatchkeyClock) {
        self.ttl = ttl
        self.clock = clock
    }

    public func agent(forKeyHash hash: String, identities: any IdentityStore) async throws -> OwnerRef? {
        let now = clock.now
        if let hit = entries.withLock({ $0[hash] }), hit.until > now { return hit.agent }
        guard let agent = try await misses.value(for: hash, read: { try await identities.agent(forKeyHash: hash) }) else {
            _ = entries.withLock { $0.removeValue(forKey: hash) }
            return nil
        }
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[hash] = (agent, now.addingTimeInterval(ttl.timeInterval))
        }
        return agent
    }

    /// Forgets every cached key (after a revocation).
    public func clear() { entries.withLock { $0.removeAll() } }
}
