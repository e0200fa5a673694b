import Foundation
import LatchkeyKeys
import LatchkeyModel
import LatchkeyStore
import Testing

/// A rotation survives what stops it part-way: the next call, in the same process or a restarted one, carries on from
/// what the store and the key file hold, makes no other version, and loses no credential.
@Suite("Key rotation after a failure")
struct RotationResumeTests {
    /// Where a rotation call stops part-way, with five data keys re-wrapped two at a time.
    enum Stop: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Version 2 is in the key file; the store refuses to make it the wrapping version.
        case promoting
        /// Version 2 wraps new keys; the first batch's write fails before it commits.
        case rewrapBeforeCommit
        /// The first batch's write commits, then its answer is lost.
        case rewrapAfterCommit
        /// Every data key is at version 2; removing version 1 from the key file fails.
        case retiring

        var description: String { rawValue }

        /// Arms the failure, then runs the call it stops.
        func stopACall(on rig: KeysRig, _ process: KeysProcess) async {
            switch self {
            case .promoting: rig.store.fail(.promoting)
            case .rewrapBeforeCommit: rig.store.fail(.replaceBeforeWriting)
            case .rewrapAfterCommit: rig.store.fail(.replaceAfterWriting)
            case .retiring: rig.keySource.failNextRemove()
            }
            await #expect(throws: LatchkeyError.self) {
                try await process.rotation.rotate(batchSize: self == .retiring ? 5 : 2, newVersion: nil)
            }
        }

        /// The data keys per version once the call stopped.
        var countsAfterwards: [Int: Int] {
            switch self {
            case .promoting, .rewrapBeforeCommit: [1: 5]
            case .rewrapAfterCommit: [1: 3, 2: 2]
            case .retiring: [2: 5]
            }
        }
    }

    @Test(arguments: Stop.allCases)
    func theNextCallInTheSameProcessCarriesOn(_ stop: Stop) async throws {
        let rig = try await KeysRig(owners: 5)
        await stop.stopACall(on: rig, rig.process)

        #expect(try await rig.store.dataKeyCounts() == stop.countsAfterwards)
        #expect(rig.keySource.versions == [1, 2])
        #expect(try await rig.openEveryCredential(with: rig.process) == rig.credentials)

        let next = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)
        #expect(next.createdVersion == nil)
        #expect(next.currentVersion == 2 && next.remaining == 0 && next.retired == [1])
        #expect(next.rewrapped == stop.countsAfterwards[1, default: 0])
        #expect(rig.keySource.versions == [2])
        #expect(try await rig.openEveryCredential(with: rig.process) == rig.credentials)
    }

    @Test(arguments: Stop.allCases)
    func aRestartedProcessCarriesOnFromTheStoreAndTheKeyFile(_ stop: Stop) async throws {
        let rig = try await KeysRig(owners: 5)
        await stop.stopACall(on: rig, rig.process)
        // The process dies here. Another one starts later, from what the store and the key file hold.
        rig.letHeartbeatsGoStale()
        let restarted = try await rig.start("replica-a-restarted")

        let next = try await restarted.rotation.rotate(batchSize: 10, newVersion: nil)

        #expect(next.createdVersion == nil)
        #expect(next.currentVersion == 2 && next.remaining == 0 && next.retired == [1])
        #expect(next.rewrapped == stop.countsAfterwards[1, default: 0])
        #expect(rig.keySource.versions == [2] && restarted.holder.current.versions == [2])
        #expect(try await rig.openEveryCredential(with: restarted) == rig.credentials)
    }

    @Test func aProcessThatDiedAfterOneBatchIsCarriedOnByItsRestart() async throws {
        let rig = try await KeysRig(owners: 5)
        let first = try await rig.process.rotation.rotate(batchSize: 2, newVersion: nil)
        #expect(first.createdVersion == 2 && first.rewrapped == 2)
        // The process dies between two calls; another one starts later.
        rig.letHeartbeatsGoStale()
        let restarted = try await rig.start("replica-a-restarted")
        #expect(restarted.holder.current.currentVersion == 2 && restarted.holder.current.versions == [1, 2])

        let second = try await restarted.rotation.rotate(batchSize: 2, newVersion: nil)
        #expect(second.createdVersion == nil && second.rewrapped == 2 && second.remaining == 1)
        let last = try await restarted.rotation.rotate(batchSize: 2, newVersion: nil)
        #expect(last.createdVersion == nil && last.rewrapped == 1 && last.remaining == 0 && last.retired == [1])

        #expect(rig.keySource.versions == [2])
        #expect(try await rig.openEveryCredential(with: restarted) == rig.credentials)
    }

    @Test func aRestartWhileTheDeadProcessStillCountsAsRunningWaitsForItsHeartbeatToGoStale() async throws {
        let rig = try await KeysRig(owners: 5)
        await Stop.promoting.stopACall(on: rig, rig.process)
        // Restarted at once: the dead process's last heartbeat (holding version 2, wrapping under 1) still counts.
        let restarted = try await rig.start("replica-a-restarted")
        let next = Task { try await restarted.rotation.rotate(batchSize: 10, newVersion: nil) }

        await rig.clock.sleepers(atLeast: 1)
        #expect(try await rig.store.wrappingVersion() == 2)
        #expect(try await rig.store.dataKeyCounts() == [1: 5])
        rig.letHeartbeatsGoStale()

        let report = try await next.value
        #expect(report.createdVersion == nil && report.rewrapped == 5 && report.retired == [1])
        #expect(try await rig.openEveryCredential(with: restarted) == rig.credentials)
    }
}
