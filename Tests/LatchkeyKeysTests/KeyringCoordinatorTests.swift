import Foundation
import LatchkeyCrypto
import LatchkeyKeys
import LatchkeyModel
import LatchkeyStore
import Testing

/// Replicas agree on the wrapping version through the store, follow a shared key file at each heartbeat, and only
/// running replicas hold a rotation back.
@Suite("Keyring coordinator")
struct KeyringCoordinatorTests {
    @Test func theFirstReplicaOnANewStoreRecordsItsHighestVersionAndTheOthersAdoptIt() async throws {
        let rig = try await KeysRig(owners: 0)
        #expect(try await rig.store.wrappingVersion() == 1)

        // A replica holding versions 1 and 2 wraps under 1, the version the store agreed on.
        let v2 = RandomToken.bytes(32)
        try rig.keySource.append(version: 2, material: v2)
        let later = try await rig.start("replica-b")
        #expect(later.holder.current.currentVersion == 1 && later.holder.current.versions == [1, 2])
    }

    @Test func aReplicaWithoutTheAgreedVersionDoesNotStart() async throws {
        let rig = try await KeysRig(owners: 0)
        let stranger = try EnvironmentMasterKeys(single: nil, list: "2:\(Data(RandomToken.bytes(32)).base64EncodedString())")

        let error = await #expect(throws: LatchkeyError.self) { try await rig.start("replica-b", keySource: stranger) }

        #expect(error?.code == .decryptionFailed && error?.field == "master_key")
        #expect(error?.message.contains("add version 1") == true)
    }

    @Test func aHeartbeatLoadsVersionsAddedToTheKeyFileAndDropsRetiredOnesButNeverTheCurrent() async throws {
        let rig = try await KeysRig(owners: 0)
        let process = rig.process
        try rig.keySource.append(version: 2, material: RandomToken.bytes(32))

        try await process.coordinator.beat()
        #expect(process.holder.current.versions == [1, 2] && process.holder.current.currentVersion == 1)
        let heartbeat = try #require(try await rig.store.replicas(seenSince: rig.clock.now).first)
        #expect(heartbeat.id == "replica-a" && heartbeat.wrappingVersion == 1)
        #expect(heartbeat.keyFingerprints == [1: process.holder.current.fingerprint(version: 1)!, 2: process.holder.current.fingerprint(version: 2)!])

        // Another replica retired version 2 from the shared file, and an operator removed version 1 by hand.
        try rig.keySource.append(version: 3, material: RandomToken.bytes(32))
        try rig.keySource.remove(versions: [1, 2])
        try await process.coordinator.beat()
        #expect(process.holder.current.versions == [1, 3] && process.holder.current.currentVersion == 1)
    }

    @Test func aReplicaLastSeenLongerAgoThanTheLivenessDoesNotHoldARotationBack() async throws {
        let rig = try await KeysRig(owners: 2)
        // A replica that held only version 1 and stopped without removing its row.
        try await rig.store.recordHeartbeat(ReplicaHeartbeat(
            id: "replica-gone", address: "gone.internal:8080", startedAt: rig.clock.now, seenAt: rig.clock.now,
            keyFingerprints: [1: rig.process.holder.current.fingerprint(version: 1)!], wrappingVersion: 1))
        rig.letHeartbeatsGoStale()

        let report = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)

        #expect(report.createdVersion == 2 && report.rewrapped == 2 && report.retired == [1])
        #expect(report.replicas.map(\.id) == ["replica-a"])
        #expect(report.note == nil)
    }
}
