import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// The hot path's memory: which connection a caller's call resolved to, and the opened credential of a
/// connection version, so a busy agent does not read the store and decrypt on every call.
///
/// - A resolution is kept for one second; concurrent misses of one share a single store read. A connection write in this process (refresh, revoke, remove,
///   reconnect) forgets every resolution at once; a write by another replica takes effect within the second,
///   the same bound as agent keys. While this process follows the store's change log (`watch`), a resolution is
///   kept until the log reports a change it depends on (at most ``StoreChangeWatch/longest``): a change to its own
///   connection forgets it, a change that can alter other picks (a connection added or removed, or its owner, state,
///   default flag or credential choice changed; a consent, credential choice or owner changed) forgets them all.
/// - An opened credential is kept with the exact ciphertext it came from and used only while the stored
///   ciphertext is byte for byte the same, so a cached credential is never one that the store has replaced
///   (or that was tampered with since). It is kept at most 60 seconds (as long as an unwrapped data key), so
///   plaintext tokens do not linger in memory.
public final class ConnectionCache: Sendable {
    /// What a resolution depends on: who calls, for which provider, naming which connection or user.
    public struct ResolutionKey: Hashable, Sendable {
        public var caller: String
        public var provider: ProviderID
        public var connection: String?
        public var user: String?

        public init(caller: String, provider: ProviderID, connection: String?, user: String?) {
            self.caller = caller
            self.provider = provider
            self.connection = connection
            self.user = user
        }
    }

    /// A resolution as read, with the time it ends by itself (a person's consent for a while), if any.
    public struct Resolved: Sendable {
        public var stored: StoredConnection
        /// When the resolution stops holding without any write: nothing is logged when a consent runs out.
        public var validUntil: Date?

        public init(stored: StoredConnection, validUntil: Date? = nil) {
            self.stored = stored
            self.validUntil = validUntil
        }
    }

    private struct Resolution {
        var stored: StoredConnection
        var validUntil: Date?
        var generation: UInt64
        var readAt: Date
        /// Whether no change was reported while it was read, so that the change log may vouch for it past its lifetime.
        var followed: Bool
    }

    private struct Opened {
        var sealed: [UInt8]
        var credential: Credential
        var until: Date
    }

    private struct MissKey: Hashable, Sendable {
        var key: ResolutionKey
        var generation: UInt64
    }

    private let resolutions = Mutex<[ResolutionKey: Resolution]>([:])
    /// Concurrent misses of one resolution share one store read.
    private let misses = SingleFlight<MissKey, Resolved>()
    private let credentials = Mutex<[ConnectionID: Opened]>([:])
    private let generation = Atomic<UInt64>(0)
    /// Bumped when the change log makes single resolutions forgotten: a read in flight then is not kept past its lifetime.
    private let narrowForgets = Atomic<UInt64>(0)
    let resolutionTTL: Duration
    let credentialTTL: Duration
    /// Entries kept at most, per map; past it the map starts over.
    let capacity: Int
    /// Signalled on every connection write in this process (what an agent's tools are may have changed).
    let writes: WakeSignal?
    /// Whose time the entries expire by.
    let clock: any LatchkeyClock
    /// Vouches for resolutions past their lifetime while the store's change log is followed; nil when it is not.
    let watch: StoreChangeWatch?

    public init(
        resolutionTTL: Duration = .seconds(1), credentialTTL: Duration = .seconds(60), capacity: Int = 50_000, writes: WakeSignal? = nil,
        watch: StoreChangeWatch? = nil, clock: any LatchkeyClock = SystemClock()
    ) {
        self.clock = clock
        self.watch = watch
        self.resolutionTTL = resolutionTTL
        self.credentialTTL = credentialTTL
        self.capacity = capacity
        self.writes = writes
    }

    /// The resolution of `key`, or the result of `resolve` (remembered).
    public func resolution(
        _ key: ResolutionKey, resolve: @escaping @Sendable () async throws -> StoredConnection
    ) async throws -> StoredConnection {
        try await resolution(key, resolvingUntil: { Resolved(stored: try await resolve()) })
    }

    /// The resolution of `key`, or the result of `resolve` (remembered, never past its `validUntil`).
    public func resolution(
        _ key: ResolutionKey, resolvingUntil resolve: @escaping @Sendable () async throws -> Resolved
    ) async throws -> StoredConnection {
        let now = clock.now
        let current = generation.load(ordering: .acquiring)
        let forgets = narrowForgets.load(ordering: .acquiring)
        if let hit = resolutions.withLock({ $0[key] }), hit.generation == current, hit.validUntil.map({ now < $0 }) ?? true,
            now < hit.readAt.addingTimeInterval(resolutionTTL.timeInterval)
                || (hit.followed && watch?.vouches(forEntryReadAt: hit.readAt, now: now) == true)
        {
            return hit.stored
        }
        // Read the generation before the store: a write that lands during the read makes this entry stale at once,
        // and a caller that comes after such a write starts a read of its own instead of joining the older one.
        let resolved = try await misses.value(for: MissKey(key: key, generation: current), read: resolve)
        let followed = narrowForgets.load(ordering: .acquiring) == forgets
        resolutions.withLock { map in
            if map.count >= capacity, map[key] == nil { map.removeAll() }
            map[key] = Resolution(stored: resolved.stored, validUntil: resolved.validUntil, generation: current, readAt: now, followed: followed)
        }
        return resolved.stored
    }

    /// The credential that `sealed` (the stored ciphertext of `id`) opens to, or the result of `open` (remembered).
    public func credential(_ id: ConnectionID, sealed: [UInt8], open: () async throws -> Credential) async throws -> Credential {
        let now = clock.now
        if let hit = credentials.withLock({ $0[id] }), hit.until > now, hit.sealed == sealed {
            return hit.credential
        }
        let credential = try await open()
        credentials.withLock { map in
            if map.count >= capacity, map[id] == nil { map.removeAll() }
            map[id] = Opened(sealed: sealed, credential: credential, until: now.addingTimeInterval(credentialTTL.timeInterval))
        }
        return credential
    }

    /// A connection changed in this process: forget every resolution, and the connection's opened credential.
    public func connectionWritten(_ id: ConnectionID) {
        generation.add(1, ordering: .releasing)
        _ = credentials.withLock { $0.removeValue(forKey: id) }
        writes?.signal()
    }

    /// Forgets everything (an owner's data key was destroyed, keys were rotated).
    public func clear() {
        generation.add(1, ordering: .releasing)
        resolutions.withLock { $0.removeAll() }
        credentials.withLock { $0.removeAll() }
    }
}

extension ConnectionCache: StoreChangeSubscriber {
    public func storeChanged(_ change: StoreChange) {
        switch change.table {
        case .connections:
            if let subject = change.subject { _ = credentials.withLock { $0.removeValue(forKey: ConnectionID(rawValue: subject)) } }
            if change.wide || change.subject == nil {
                generation.add(1, ordering: .releasing)
            } else if let subject = change.subject {
                narrowForgets.add(1, ordering: .releasing)
                resolutions.withLock { map in map = map.filter { $0.value.stored.connection.id.rawValue != subject } }
            }
        case .consents, .credentialChoices, .owners:
            generation.add(1, ordering: .releasing)
        case .dataKeys:
            credentials.withLock { $0.removeAll() }
        case .agentKeys, .narrowedKeys, .capabilityGrants, .orgAccessPolicies, nil:
            break
        }
    }

    public func storeChangesMissed() { clear() }
}
