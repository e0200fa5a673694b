import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Agent keys, the agents' own and narrowed ones, recently found valid, for one second: a hot agent does not hit the
/// store on every call, and calls that miss together share one read. A narrowed key is never kept past its expiry.
/// Revocation in this process clears it at once; another replica's revocation takes effect within the second.
public final class AgentKeyCache: Sendable {
    private let entries = Mutex<[String: (caller: Caller, until: Date)]>([:])
    /// Concurrent misses of one key share one store read.
    private let misses = SingleFlight<String, Caller?>()
    let ttl: Duration
    let clock: any LatchkeyClock

    public init(ttl: Duration = .seconds(1), clock: any LatchkeyClock) {
        self.ttl = ttl
        self.clock = clock
    }

    /// The agent a key authenticates, held to the key's scope when it is a narrowed key; nil for a key that is
    /// unknown, revoked or expired.
    public func caller(forKeyHash hash: String, identities: any IdentityStore & NarrowedKeyStore) async throws -> Caller? {
        let now = clock.now
        if let hit = entries.withLock({ $0[hash] }), hit.until > now { return hit.caller }
        let found = try await misses.value(for: hash) { () async throws -> Caller? in
            if let agent = try await identities.agent(forKeyHash: hash) { return .agent(agent, keyHash: hash) }
            guard let key = try await identities.narrowedKey(hash: hash), key.expiresAt > now else { return nil }
            return .agent(
                key.agent, scope: KeyScope(keyHash: key.keyHash, depth: key.depth, grants: key.grants, expiresAt: key.expiresAt), keyHash: hash)
        }
        guard let found else {
            _ = entries.withLock { $0.removeValue(forKey: hash) }
            return nil
        }
        let until = min(now.addingTimeInterval(ttl.timeInterval), found.keyScope?.expiresAt ?? .distantFuture)
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[hash] = (found, until)
        }
        return found
    }

    /// Forgets every cached key (after a revocation).
    public func clear() { entries.withLock { $0.removeAll() } }
}
