import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Agent keys, the agents' own and narrowed ones, recently found valid, for one second: a hot agent does not hit the
/// store on every call, and calls that miss together share one read. A narrowed key is never kept past its expiry.
/// Revocation in this process clears it at once; another replica's revocation takes effect within the second. While
/// this process follows the store's change log (`watch`), a key is kept until the log reports a change to keys or
/// owners (at most ``StoreChangeWatch/longest``).
public final class AgentKeyCache: Sendable {
    private struct Entry {
        var caller: Caller
        var readAt: Date
        /// A narrowed key's expiry.
        var expiresAt: Date?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Bumped by every clear: a read that began before it is not kept.
        var generation = 0
    }

    private let state = Mutex(State())
    /// Concurrent misses of one key share one store read.
    private let misses = SingleFlight<String, Caller?>()
    let ttl: Duration
    let clock: any LatchkeyClock
    /// Vouches for keys past their lifetime while the store's change log is followed; nil when it is not.
    let watch: StoreChangeWatch?

    public init(ttl: Duration = .seconds(1), watch: StoreChangeWatch? = nil, clock: any LatchkeyClock) {
        self.ttl = ttl
        self.watch = watch
        self.clock = clock
    }

    /// The agent a key authenticates, held to the key's scope when it is a narrowed key; nil for a key that is
    /// unknown, revoked or expired.
    public func caller(forKeyHash hash: String, identities: any IdentityStore & NarrowedKeyStore) async throws -> Caller? {
        let now = clock.now
        let (hit, generation) = state.withLock { ($0.entries[hash], $0.generation) }
        if let hit, hit.expiresAt.map({ now < $0 }) ?? true,
            now < hit.readAt.addingTimeInterval(ttl.timeInterval) || watch?.vouches(forEntryReadAt: hit.readAt, now: now) == true
        {
            return hit.caller
        }
        let found = try await misses.value(for: hash) { () async throws -> Caller? in
            if let agent = try await identities.agent(forKeyHash: hash) { return .agent(agent, keyHash: hash) }
            guard let key = try await identities.narrowedKey(hash: hash), key.expiresAt > now else { return nil }
            return .agent(
                key.agent, scope: KeyScope(keyHash: key.keyHash, depth: key.depth, grants: key.grants, expiresAt: key.expiresAt), keyHash: hash)
        }
        state.withLock { state in
            guard let found else {
                state.entries.removeValue(forKey: hash)
                return
            }
            guard state.generation == generation else { return }
            if state.entries.count > 10_000, state.entries[hash] == nil { state.entries.removeAll() }
            state.entries[hash] = Entry(caller: found, readAt: now, expiresAt: found.keyScope?.expiresAt)
        }
        return found
    }

    /// Forgets every cached key (after a revocation).
    public func clear() {
        state.withLock { state in
            state.entries.removeAll()
            state.generation += 1
        }
    }
}

extension AgentKeyCache: StoreChangeSubscriber {
    public func storeChanged(_ change: StoreChange) {
        switch change.table {
        case .agentKeys, .narrowedKeys, .owners: clear()
        default: break
        }
    }

    public func storeChangesMissed() { clear() }
}
