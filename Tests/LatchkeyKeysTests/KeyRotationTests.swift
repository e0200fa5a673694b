import Foundation
import LatchkeyCrypto
import LatchkeyKeys
import LatchkeyModel
import LatchkeyStore
import Testing

/// A rotation, call by call: a new master-key version made durable first, promoted, every data key re-wrapped in
/// batches, the old version retired, and every credential still readable.
@Suite("Key rotation")
struct KeyRotationTests {
    @Test func aRotationWritesTheNewVersionToTheKeySourceBeforeAnyDataKeyIsWrappedUnderIt() async throws {
        let rig = try await KeysRig(owners: 3)

        let report = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)

        #expect(report.createdVersion == 2)
        #expect(rig.journal.take() == [
            "key source: added 2",
            "store: wrapping version 2",
            "store: re-wrapped 3 under 2",
            "key source: removed 1",
        ])
        #expect(try await rig.auditedActions() == ["keys.version_added", "keys.version_current", "keys.version_retired", "keys.rotated"])
    }

    @Test func eachCallReWrapsAtMostOneBatchAndTheLastRetiresTheOldVersion() async throws {
        let rig = try await KeysRig(owners: 5)
        let rotation = rig.process.rotation

        let first = try await rotation.rotate(batchSize: 2, newVersion: nil)
        #expect(first.createdVersion == 2 && first.currentVersion == 2)
        #expect(first.rewrapped == 2 && first.remaining == 3 && first.retired.isEmpty)
        #expect(first.versionsInUse == ["1": 3, "2": 2] && first.loadedVersions == [1, 2])
        #expect(try await rig.store.wrappingVersion() == 2)
        #expect(rig.keySource.versions == [1, 2])

        let second = try await rotation.rotate(batchSize: 2, newVersion: nil)
        #expect(second.createdVersion == nil)
        #expect(second.rewrapped == 2 && second.remaining == 1 && second.retired.isEmpty)

        let last = try await rotation.rotate(batchSize: 2, newVersion: nil)
        #expect(last.createdVersion == nil)
        #expect(last.rewrapped == 1 && last.remaining == 0 && last.retired == [1])
        #expect(last.versionsInUse == ["2": 5] && last.loadedVersions == [2])
        #expect(last.note == nil)
        #expect(rig.keySource.versions == [2])
        #expect(rig.process.holder.current.versions == [2])
    }

    @Test func everyCredentialSealedBeforeTheRotationStillOpensAfterIt() async throws {
        let rig = try await KeysRig(owners: 4)
        let halfway = try await rig.process.rotation.rotate(batchSize: 3, newVersion: nil)
        #expect(halfway.remaining == 1)
        #expect(try await rig.openEveryCredential(with: rig.process) == rig.credentials)

        let done = try await rig.process.rotation.rotate(batchSize: 3, newVersion: nil)
        #expect(done.remaining == 0 && done.retired == [1])
        #expect(try await rig.openEveryCredential(with: rig.process) == rig.credentials)
        // A process started now knows only version 2, and reads them all too.
        #expect(rig.keySource.versions == [2])
        #expect(try await rig.openEveryCredential(with: try await rig.start("replica-b")) == rig.credentials)
    }

    @Test func aCallWithNothingInProgressMakesTheNextVersion() async throws {
        let rig = try await KeysRig(owners: 2)
        _ = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)

        let again = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)

        #expect(again.createdVersion == 3 && again.currentVersion == 3 && again.rewrapped == 2 && again.retired == [2])
        #expect(rig.keySource.versions == [3])
        #expect(try await rig.openEveryCredential(with: rig.process) == rig.credentials)
    }

    @Test func aCallThatMayNotMakeAVersionOnlyCarriesOn() async throws {
        let rig = try await KeysRig(owners: 2)

        let report = try await rig.process.rotation.rotate(batchSize: 10, newVersion: false)

        #expect(report.createdVersion == nil && report.currentVersion == 1 && report.rewrapped == 0 && report.retired.isEmpty)
        #expect(rig.keySource.versions == [1])
        #expect(rig.journal.take().isEmpty)
    }

    @Test func aSecondCallWhileOneRunsInTheSameProcessGetsConflict() async throws {
        let rig = try await KeysRig(owners: 3)
        // Another replica on the same key file holds the first call in its wait for that replica to load version 2.
        let other = try await rig.start("replica-b")
        try await other.coordinator.beat()
        let first = Task { try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil) }
        await rig.clock.sleepers(atLeast: 1)

        let refused = await #expect(throws: LatchkeyError.self) {
            try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)
        }
        #expect(refused?.code == .conflict)

        // The other replica reads version 2 from the key file at its heartbeat; the first call promotes it, then
        // waits for that replica to switch to it at its next heartbeat.
        try await other.coordinator.beat()
        rig.clock.advance(by: .interval(KeysRig.replicaHeartbeat))
        await rig.clock.sleepers(atLeast: 1)
        try await other.coordinator.beat()
        rig.clock.advance(by: .interval(KeysRig.replicaHeartbeat))
        let report = try await first.value

        #expect(report.createdVersion == 2 && report.rewrapped == 3 && report.retired == [1])
        #expect(other.holder.current.currentVersion == 2)
        #expect(try await rig.openEveryCredential(with: other) == rig.credentials)
        // The first call is over: the next one runs.
        #expect(try await rig.process.rotation.rotate(batchSize: 10, newVersion: false).createdVersion == nil)
    }

    @Test func aDataKeyThatCannotBeUnwrappedStopsTheRotationNamingItsOwnerAndWritesNothingOfTheBatch() async throws {
        let rig = try await KeysRig(owners: 4)
        let damaged = KeysRig.owner(2)
        var record = try #require(try await rig.memory.dataKey(for: damaged))
        _ = try await rig.memory.deleteDataKey(for: damaged)
        record.ciphertext[record.ciphertext.count - 1] ^= 0x01
        _ = try await rig.memory.insertDataKeyIfAbsent(record)
        let before = try await rig.memory.dataKeys(notAtVersion: 0, limit: 10)

        let error = await #expect(throws: LatchkeyError.self) {
            try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)
        }

        #expect(error?.code == .decryptionFailed)
        #expect(error?.message.contains("the data key of org:o2 ") == true)
        #expect(try await rig.memory.dataKeys(notAtVersion: 0, limit: 10) == before)
        #expect(!rig.journal.take().contains { $0.hasPrefix("store: re-wrapped") })
        let failure = try await rig.memory.events(AuditQuery(action: "keys.rotated", outcome: "failure")).first
        #expect(failure?.owner == damaged)
        #expect(failure?.detail?.hasPrefix("decryption_failed") == true)

        // Once the owner is revoked (its data key shredded), the next call carries on with the others.
        _ = try await rig.process.vault.destroyDataKey(for: damaged)
        let report = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)
        #expect(report.createdVersion == nil && report.rewrapped == 3 && report.retired == [1])
        for (n, item) in rig.sealed.enumerated() where n != 2 {
            #expect(try await rig.process.vault.openCredential(item.sealed, for: item.connection) == item.credential)
        }
    }

    @Test func keysFromTheEnvironmentAreAddedByTheOperatorAndRetiredInMemoryOnly() async throws {
        let rig = try await KeysRig(owners: 2)
        let v1 = try #require(rig.keySource.material(1))
        let environment = try EnvironmentMasterKeys(single: nil, list: "1:\(Data(v1).base64EncodedString())")
        let process = try await rig.start("replica-env", keySource: environment)

        let refused = await #expect(throws: LatchkeyError.self) { try await process.rotation.rotate(batchSize: 10, newVersion: nil) }
        #expect(refused?.code == .keySourceReadonly)
        #expect(try await rig.store.wrappingVersion() == 1)

        // The operator adds version 2 to LATCHKEY_MASTER_KEYS and restarts.
        let v2 = RandomToken.bytes(32)
        let added = try EnvironmentMasterKeys(
            single: nil, list: "2:\(Data(v2).base64EncodedString()),1:\(Data(v1).base64EncodedString())")
        rig.letHeartbeatsGoStale()
        let restarted = try await rig.start("replica-env-2", keySource: added)
        #expect(restarted.holder.current.currentVersion == 1)

        let report = try await restarted.rotation.rotate(batchSize: 10, newVersion: nil)
        #expect(report.createdVersion == nil && report.currentVersion == 2 && report.rewrapped == 2 && report.retired == [1])
        #expect(report.source == "environment")
        #expect(report.note?.contains("remove them from LATCHKEY_MASTER_KEY(S)") == true)
        #expect(restarted.holder.current.versions == [2])
        #expect(try await rig.openEveryCredential(with: restarted) == rig.credentials)
    }
}
