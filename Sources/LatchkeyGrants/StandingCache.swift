import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// The hot path's memory of grants and access policies: every proxied and tool call reads its agent's standing, and
/// without this each call would read the store twice.
///
/// A read is kept for one second per key (an org's policy; the grants of an agent's holders), and concurrent misses of
/// one key share a single store read. A grant or policy written in this process (``forget()``, called by
/// ``GrantDirectory``) holds from the next call on; one written by another replica, within the second: the same bound
/// as agent keys, connection resolutions and consents. While this process follows the store's change log (`watch`), a
/// read is kept until the log reports a change to grants or policies (at most ``StoreChangeWatch/longest``).
public final class StandingCache: Sendable {
    /// How long a read is kept.
    public static let lifetime: TimeInterval = 1
    /// Past this many entries, expired ones are dropped at the next store.
    static let pruneAbove = 4096

    private struct Entry<Value: Sendable>: Sendable {
        var value: Value
        var readAt: Date
    }

    /// An agent's grants, decoded, and its org's policy: what ``AccessGuard`` made of kept reads.
    struct Assembled: Sendable {
        var grants: GrantSet
        var policy: OrgAccessPolicy
    }

    private struct State {
        var grants: [[OwnerRef]: Entry<[OwnerRef: [StoredGrant]]>] = [:]
        var policies: [String: Entry<OrgAccessPolicy>] = [:]
        /// Per agent, kept as long as the reads it was made of (the older one's time).
        var assembled: [OwnerRef: Entry<Assembled>] = [:]
        /// Bumped by every forget: a read that began before it is not kept.
        var generation = 0
    }

    private let state = Mutex(State())
    private let grantReads = SingleFlight<[OwnerRef], [OwnerRef: [StoredGrant]]>()
    private let policyReads = SingleFlight<String, OrgAccessPolicy>()
    private let clock: any LatchkeyClock
    /// Vouches for reads past their lifetime while the store's change log is followed; nil when it is not.
    private let watch: StoreChangeWatch?

    public init(watch: StoreChangeWatch? = nil, clock: any LatchkeyClock) {
        self.watch = watch
        self.clock = clock
    }

    /// The grants of `owners`, from memory or `read`.
    func grants(
        owners: [OwnerRef], read: @escaping @Sendable () async throws -> [OwnerRef: [StoredGrant]]
    ) async throws -> [OwnerRef: [StoredGrant]] {
        try await remembered(owners, in: \.grants, flights: grantReads, read: read)
    }

    /// `org`'s access policy, from memory or `read`.
    func policy(org: String, read: @escaping @Sendable () async throws -> OrgAccessPolicy) async throws -> OrgAccessPolicy {
        try await remembered(org, in: \.policies, flights: policyReads, read: read)
    }

    /// The grants of `owners` and `org`'s policy when both are in memory and still hold, with the older read's time and
    /// the generation they belong to (for ``keep(_:of:readAt:generation:)``): what a call finds without a suspension.
    func kept(owners: [OwnerRef], org: String)
        -> (grants: [OwnerRef: [StoredGrant]], policy: OrgAccessPolicy, readAt: Date, generation: Int)?
    {
        let now = clock.now
        let (grants, policy, generation) = state.withLock { ($0.grants[owners], $0.policies[org], $0.generation) }
        guard let grants, holds(grants, now: now), let policy, holds(policy, now: now) else { return nil }
        return (grants.value, policy.value, min(grants.readAt, policy.readAt), generation)
    }

    /// What `agent`'s standing was made of, while the reads it came from still hold: what nearly every call finds, with
    /// one lookup and nothing decoded.
    func assembled(of agent: OwnerRef) -> Assembled? {
        let now = clock.now
        guard let entry = state.withLock({ $0.assembled[agent] }), holds(entry, now: now) else { return nil }
        return entry.value
    }

    /// Keeps `assembled` for `agent`, made of reads from `readAt` in `generation`; nothing when a forget came since.
    func keep(_ assembled: Assembled, of agent: OwnerRef, readAt: Date, generation: Int) {
        store(assembled, for: agent, in: \.assembled, readAt: readAt, generation: generation)
    }

    private func holds<Value>(_ entry: Entry<Value>, now: Date) -> Bool {
        now < entry.readAt.addingTimeInterval(Self.lifetime) || watch?.vouches(forEntryReadAt: entry.readAt, now: now) == true
    }

    /// The entry of `key` in the table at `table` while it lasts; else `read` (shared by concurrent misses), kept for
    /// ``lifetime`` unless a forget came in between.
    private func remembered<Key: Hashable & Sendable, Value: Sendable>(
        _ key: Key, in table: any WritableKeyPath<State, [Key: Entry<Value>]> & Sendable, flights: SingleFlight<Key, Value>,
        read: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let now = clock.now
        let (kept, generation) = state.withLock { ($0[keyPath: table][key], $0.generation) }
        if let kept, holds(kept, now: now) { return kept.value }
        let value = try await flights.value(for: key, read: read)
        store(value, for: key, in: table, readAt: now, generation: generation)
        return value
    }

    /// Keeps `value` for `key` in the table at `table`, read at `readAt` in `generation`; nothing when a forget came
    /// since. Past ``pruneAbove`` entries, a new key first drops the expired ones.
    private func store<Key: Hashable, Value>(
        _ value: Value, for key: Key, in table: WritableKeyPath<State, [Key: Entry<Value>]>, readAt: Date, generation: Int
    ) {
        let now = clock.now
        state.withLock { state in
            guard state.generation == generation else { return }
            if state[keyPath: table].count > Self.pruneAbove, state[keyPath: table][key] == nil {
                let lasting = watch?.longest ?? Self.lifetime
                state[keyPath: table] = state[keyPath: table].filter { now < $0.value.readAt.addingTimeInterval(lasting) }
            }
            state[keyPath: table][key] = Entry(value: value, readAt: readAt)
        }
    }

    /// Forgets everything: a grant or policy changed in this process.
    public func forget() {
        state.withLock { state in
            state.grants = [:]
            state.policies = [:]
            state.assembled = [:]
            state.generation += 1
        }
    }
}

extension StandingCache: StoreChangeSubscriber {
    public func storeChanged(_ change: StoreChange) {
        switch change.table {
        case .capabilityGrants, .orgAccessPolicies: forget()
        default: break
        }
    }

    public func storeChangesMissed() { forget() }
}
