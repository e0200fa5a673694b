import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging

/// Keeps this replica's master keys in step with the other replicas sharing the store.
///
/// The store holds the version every replica wraps new data keys under (the *wrapping version*). A newer version
/// can be loaded (staged) on a replica before it is used: a rotation makes it the wrapping version only once
/// every running replica reports the same key under it, then waits until each has switched before re-wrapping.
/// So no replica ever meets a data key wrapped under a version it does not hold.
///
/// Every heartbeat, this replica reloads a key file (a version added by another replica on a shared file appears
/// here; a retired one is dropped unless it is current), adopts the store's wrapping version when it holds it,
/// and records what it holds.
public struct KeyringCoordinator: Sendable {
    let store: any KeyringStorage
    /// The keyring this replica seals with.
    let holder: MasterKeyringHolder
    /// Where the master keys live (a key file is read again every heartbeat).
    let keySource: any MasterKeySource
    let replica: ReplicaSettings
    let startedAt: Date
    let clock: any LatchkeyClock
    let logger: Logger

    public init(
        store: any KeyringStorage, holder: MasterKeyringHolder, keySource: any MasterKeySource, replica: ReplicaSettings, startedAt: Date,
        clock: any LatchkeyClock, logger: Logger
    ) {
        self.store = store
        self.holder = holder
        self.keySource = keySource
        self.replica = replica
        self.startedAt = startedAt
        self.clock = clock
        self.logger = logger
    }

    var replicaID: String { replica.id }

    /// Agrees on the wrapping version at start-up: the store's when it has one (which this replica must hold),
    /// otherwise the highest loaded version, recorded for the replicas that follow.
    public static func agree(on loaded: MasterKeyring, store: any KeyringStateStore, now: Date) async throws -> MasterKeyring {
        guard let version = try await agreedVersion(store: store, proposing: loaded.currentVersion, now: now) else { return loaded }
        guard loaded.contains(version: version) else {
            throw LatchkeyError(
                .decryptionFailed,
                "master key version \(version) is the one the shared database wraps new data keys under, but this replica holds only "
                    + "version(s) \(loaded.versions.map(String.init).joined(separator: ", ")); add version \(version) to its key file or LATCHKEY_MASTER_KEYS",
                field: "master_key")
        }
        return try loaded.withCurrent(version)
    }

    /// The store's wrapping version; on a new database, `proposing` is recorded first (the first replica to do so
    /// wins, and every other one reads its choice).
    static func agreedVersion(store: any KeyringStateStore, proposing: Int, now: Date) async throws -> Int? {
        if let agreed = try await store.wrappingVersion() { return agreed }
        _ = try await store.setWrappingVersion(proposing, expected: nil, at: now)
        return try await store.wrappingVersion()
    }

    /// One heartbeat: reload the key file, adopt the store's wrapping version, record this replica.
    public func beat() async throws {
        reloadKeySource()
        let agreed = try await Self.agreedVersion(store: store, proposing: holder.current.currentVersion, now: clock.now)
        if let agreed, agreed != holder.current.currentVersion {
            if holder.current.contains(version: agreed) {
                try holder.update { ring throws(LatchkeyError) in try ring.withCurrent(agreed) }
                logger.info("master key version \(agreed) is now current (agreed through the database)")
            } else {
                logger.error(
                    "master key version \(agreed) is current in the database but not loaded here; new data keys stay under version \(holder.current.currentVersion)")
            }
        }
        try await store.recordHeartbeat(heartbeat())
    }

    /// What this replica holds now.
    func heartbeat() -> ReplicaHeartbeat {
        let ring = holder.current
        return ReplicaHeartbeat(
            id: replicaID, address: replica.address, startedAt: startedAt, seenAt: clock.now,
            keyFingerprints: Dictionary(uniqueKeysWithValues: ring.versions.compactMap { v in ring.fingerprint(version: v).map { (v, $0) } }),
            wrappingVersion: ring.currentVersion)
    }

    /// Brings the keyring in line with a writable key source (a file): new versions are staged, versions gone
    /// from the file are dropped unless current. A version whose key differs from the one loaded is left alone.
    func reloadKeySource() {
        guard keySource.isWritable, let material = try? keySource.load() else { return }
        let ring = holder.current
        do throws(LatchkeyError) {
            try holder.update { ring throws(LatchkeyError) in
                var next = ring
                for (version, bytes) in material where !next.contains(version: version) {
                    next = try next.staging(version: version, material: bytes)
                }
                let gone = Set(next.versions.filter { material[$0] == nil && $0 != next.currentVersion })
                return gone.isEmpty ? next : try next.removing(gone)
            }
        } catch {
            logger.error("could not reload the master key file: \(error.code)")
        }
        let after = holder.current
        if after.versions != ring.versions {
            logger.info("master key versions \(after.versions.map(String.init).joined(separator: ", ")) loaded from the key file")
        }
    }

    /// The running replicas (this one included, as it last reported).
    public func liveReplicas() async throws -> [ReplicaHeartbeat] {
        try await store.replicas(seenSince: clock.now.addingTimeInterval(-replica.liveness))
    }

    /// Waits until every running replica passes `isReady`, up to one liveness period (so a replica that died
    /// meanwhile stops counting); returns those that still do not.
    func waitForReplicas(_ isReady: @escaping @Sendable (ReplicaHeartbeat) -> Bool) async throws -> [ReplicaHeartbeat] {
        let deadline = clock.now.addingTimeInterval(replica.liveness + replica.heartbeatInterval)
        try await store.recordHeartbeat(heartbeat())
        while true {
            let lagging = try await liveReplicas().filter { $0.id != replicaID && !isReady($0) }
            if lagging.isEmpty || clock.now >= deadline { return lagging }
            try await clock.sleep(for: .milliseconds(250))
        }
    }
}
