import Foundation
import LatchkeyAPI
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Master-key rotation: a new master-key version, every data key re-wrapped under it in batches, and the old
/// versions retired once no data key references them.
///
/// A rotation is a series of calls, each re-wrapping one batch, so it survives a crash: the new version is
/// durable in the key file before any data key is wrapped under it, and a data key not yet re-wrapped still
/// names its old version, which stays loaded. The next call carries on from the database's state; it makes a
/// new version only when nothing is in progress (every data key at the current version and no older version
/// loaded) or when asked to. Only the data keys are re-wrapped: credentials stay sealed under the same data keys.
///
/// One call runs at a time in a process; a second concurrent call gets `conflict`.
public final class KeyRotation: Sendable {
    let store: any KeyringStorage
    /// This replica's keyring and its agreement with the others.
    let coordinator: KeyringCoordinator
    let audit: AuditTrail
    let clock: any LatchkeyClock
    private let running = Mutex(false)

    public init(coordinator: KeyringCoordinator, audit: AuditTrail) {
        self.store = coordinator.store
        self.coordinator = coordinator
        self.audit = audit
        self.clock = coordinator.clock
    }

    var holder: MasterKeyringHolder { coordinator.holder }
    var source: any MasterKeySource { coordinator.keySource }

    /// The keys in force, the data keys per version, and what each running replica holds.
    public func status() async throws -> KeyStatus {
        let ring = holder.current
        let counts = try await store.dataKeyCounts()
        return KeyStatus(ring: ring, counts: counts, source: source.kind, replicas: try await coordinator.liveReplicas())
    }

    /// One call of a rotation: makes a new version when `newVersion` says so (by default: when nothing is in
    /// progress), re-wraps at most `batchSize` data keys that are not at the current version, and retires the old
    /// versions when none is left.
    public func rotate(batchSize: Int, newVersion: Bool?) async throws -> RotationReport {
        let claimed = running.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
        guard claimed else {
            throw LatchkeyError(.conflict, "a key rotation call is already running in this server; try again when it ends")
        }
        defer { running.withLock { $0 = false } }

        try await coordinator.beat()
        guard let agreed = try await store.wrappingVersion(), holder.current.currentVersion == agreed else {
            throw LatchkeyError(
                .replicasNotReady,
                "this replica does not hold the master-key version the database wraps new data keys under; add it here, then rotate again")
        }
        var ring = holder.current
        var counts = try await store.dataKeyCounts()
        let newest = ring.versions.max() ?? agreed
        let behind = counts.filter { $0.key != agreed }.values.reduce(0, +)
        let inProgress = behind > 0 || ring.versions.contains { $0 != agreed }
        var created: Int?
        if newVersion ?? !inProgress {
            ring = try await addVersion(after: max(newest, counts.keys.max() ?? 0))
            created = ring.versions.max()
        }

        // A newer loaded version becomes the wrapping version once every running replica holds the same key under it.
        if let target = ring.versions.max(), target > agreed {
            try await promote(target, from: agreed, coordinator: coordinator)
        }
        ring = holder.current
        // Nothing is re-wrapped or retired until every running replica wraps new keys under the current version.
        let current = ring.currentVersion
        let lagging = try await coordinator.waitForReplicas { $0.wrappingVersion == current }
        guard lagging.isEmpty else {
            throw Self.notReady(
                lagging, "have not switched to master-key version \(current) yet",
                advice: "they switch at their next heartbeat; a replica that cannot holds no version \(current). Rotate again"
            ) { _ in "still wraps new data keys under another version" }
        }

        let rewrapped = try await rewrapBatch(ring: ring, limit: batchSize)
        counts = try await store.dataKeyCounts()
        let remaining = counts.filter { $0.key != ring.currentVersion }.values.reduce(0, +)
        let retired = remaining == 0 ? try await retireUnreferenced() : []
        let replicas = try await coordinator.liveReplicas()
        let others = replicas.filter { $0.id != coordinator.replicaID }

        var notes: [String] = []
        if !retired.isEmpty, !source.isWritable {
            notes.append("version(s) \(retired.map(String.init).joined(separator: ", ")) are retired in memory; remove them from LATCHKEY_MASTER_KEY(S)")
        }
        if !retired.isEmpty, !others.isEmpty {
            notes.append(
                "\(others.count) other replica(s) drop the retired version(s) at their next heartbeat when they read the same key file; "
                    + "otherwise remove them from their key file or LATCHKEY_MASTER_KEY(S)")
        }
        let report = RotationReport(
            status: KeyStatus(ring: holder.current, counts: counts, source: source.kind, replicas: replicas),
            createdVersion: created, rewrapped: rewrapped, retired: retired, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .keysRotated,
            detail: "current=\(report.currentVersion) rewrapped=\(rewrapped) remaining=\(remaining)"))
        return report
    }

    /// Makes `target` the version every replica wraps new data keys under, once each running replica reports the
    /// same key (by fingerprint) under it; this replica switches at once, the others at their next heartbeat.
    private func promote(_ target: Int, from agreed: Int, coordinator: KeyringCoordinator) async throws {
        let fingerprint = holder.current.fingerprint(version: target)
        let lacking = try await coordinator.waitForReplicas { $0.keyFingerprints[target] == fingerprint }
        guard lacking.isEmpty else {
            throw Self.notReady(
                lacking, "are not ready for master-key version \(target)",
                advice: "give each the same version \(target) (a shared key file is read again every heartbeat; "
                    + "LATCHKEY_MASTER_KEYS needs a restart), then rotate again. Nothing was re-wrapped"
            ) { replica in
                replica.keyFingerprints[target] == nil ? "does not hold version \(target)" : "holds a different key under version \(target)"
            }
        }
        _ = try await store.setWrappingVersion(target, expected: agreed, at: clock.now)
        guard let now = try await store.wrappingVersion() else { return }
        try holder.update { ring throws(LatchkeyError) in try ring.withCurrent(now) }
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .keysVersionCurrent, detail: "version \(now) wraps new data keys on every replica"))
    }

    /// `replicas_not_ready`, naming each replica and what it lacks.
    static func notReady(
        _ replicas: [ReplicaHeartbeat], _ problem: String, advice: String, each: (ReplicaHeartbeat) -> String
    ) -> LatchkeyError {
        let names = replicas.map { r in
            "\(r.address.isEmpty ? r.id : r.address) \(each(r)) (holds \(r.keyFingerprints.keys.sorted().map(String.init).joined(separator: ", ")), "
                + "wraps under \(r.wrappingVersion))"
        }
        return LatchkeyError(
            .replicasNotReady, "\(replicas.count) running replica(s) \(problem): \(names.joined(separator: "; ")); \(advice)", field: "replicas")
    }

    /// Generates version `previous + 1`, writes it durably to the key source, then loads it (not yet current).
    private func addVersion(after previous: Int) async throws -> MasterKeyring {
        let version = previous + 1
        let material = RandomToken.bytes(32)
        do throws(LatchkeyError) {
            guard source.isWritable else { throw EnvironmentMasterKeys.readOnly(next: version, loaded: holder.current.versions) }
            try source.append(version: version, material: material)
        } catch {
            await audit.record(AuditEvent(
                at: clock.now, actor: .admin, action: .keysVersionAdded, outcome: "failure",
                detail: "version \(version): \(error.code.rawValue)"))
            throw error
        }
        let ring = try holder.update { ring throws(LatchkeyError) in try ring.staging(version: version, material: material) }
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .keysVersionAdded, detail: "version \(version) (\(source.kind))"))
        return ring
    }

    /// Re-wraps one batch under `ring`'s current version, with a compare-and-swap per row in one transaction.
    /// A data key that cannot be unwrapped stops the rotation, naming its owner: nothing is ever dropped.
    private func rewrapBatch(ring: MasterKeyring, limit: Int) async throws -> Int {
        let batch = try await store.dataKeys(notAtVersion: ring.currentVersion, limit: limit)
        var replacements: [DataKeyReplacement] = []
        replacements.reserveCapacity(batch.count)
        for record in batch {
            let wrapped: WrappedDataKey
            do throws(LatchkeyError) {
                wrapped = try ring.rewrap(WrappedDataKey(keyVersion: record.keyVersion, ciphertext: record.ciphertext), for: record.owner)
            } catch {
                await audit.record(AuditEvent(
                    at: clock.now, actor: .admin, action: .keysRotated, owner: record.owner, outcome: "failure",
                    detail: "decryption_failed: data key at version \(record.keyVersion)"))
                throw LatchkeyError(
                    .decryptionFailed,
                    "the data key of \(record.owner) (master-key version \(record.keyVersion)) cannot be unwrapped (\(error.message)). "
                        + "The rotation stopped before writing this batch; restore that version's key, or revoke the owner, then rotate again.")
            }
            replacements.append(DataKeyReplacement(
                expected: record, replacement: WrappedDataKeyRecord(owner: record.owner, keyVersion: wrapped.keyVersion, ciphertext: wrapped.ciphertext)))
        }
        return try await store.replaceDataKeys(replacements)
    }

    /// Drops every old version that no data key references: first from memory, then, when no data key took one
    /// up meanwhile (a key created by a caller that still held the older keyring), from the key source.
    private func retireUnreferenced() async throws -> [Int] {
        let ring = holder.current
        let before = try await store.dataKeyCounts()
        let candidates = Set(ring.versions.filter { $0 < ring.currentVersion && before[$0] == nil })
        guard !candidates.isEmpty else { return [] }
        let material = (try? source.load()) ?? [:]
        try holder.update { ring throws(LatchkeyError) in try ring.removing(candidates) }
        let after = try await store.dataKeyCounts()
        let takenUp = candidates.filter { after[$0] != nil }
        for version in takenUp {
            if let bytes = material[version] {
                try holder.update { ring throws(LatchkeyError) in try ring.staging(version: version, material: bytes) }
            }
        }
        let retired = candidates.subtracting(takenUp).sorted()
        guard !retired.isEmpty else { return [] }
        if source.isWritable {
            do throws(LatchkeyError) {
                try source.remove(versions: Set(retired))
            } catch {
                await audit.record(AuditEvent(
                    at: clock.now, actor: .admin, action: .keysVersionRetired, outcome: "failure",
                    detail: "versions \(retired): \(error.code.rawValue)"))
                throw error
            }
        }
        for version in retired {
            await audit.record(AuditEvent(
                at: clock.now, actor: .admin, action: .keysVersionRetired, detail: "version \(version) (\(source.kind))"))
        }
        return retired
    }
}
