import Foundation
import LatchkeyKeys
import LatchkeyModel
import LatchkeyStore
import Testing

/// The integrity check opens every stored credential once and reports, without repairing, each that does not open.
@Suite("Integrity check")
struct IntegrityCheckTests {
    /// What can happen to a sealed credential at rest.
    enum Tampering: String, CaseIterable, Sendable, CustomStringConvertible {
        case oneBitFlipped
        case truncated
        case copiedFromAnotherConnection

        var description: String { rawValue }

        func apply(to sealed: [UInt8], another: [UInt8]) -> [UInt8] {
            switch self {
            case .oneBitFlipped:
                var bytes = sealed
                bytes[bytes.count / 2] ^= 0x10
                return bytes
            case .truncated: return Array(sealed.dropLast())
            case .copiedFromAnotherConnection: return another
            }
        }
    }

    func check(_ rig: KeysRig) -> IntegrityCheck {
        IntegrityCheck(store: rig.memory, vault: rig.process.vault, audit: rig.audit, clock: rig.clock)
    }

    @Test(arguments: Tampering.allCases)
    func aTamperedCredentialIsReportedAsDecryptionFailedNamingItsConnection(_ tampering: Tampering) async throws {
        let rig = try await KeysRig(owners: 3)
        let victim = rig.sealed[1]
        let tampered = tampering.apply(to: victim.sealed, another: rig.sealed[2].sealed)
        #expect(try await rig.memory.update(victim.connection, sealedCredential: tampered, expectedVersion: victim.connection.version))

        let report = try await check(rig).run()

        #expect(report.checked == 3 && report.ok == 2)
        let failure = try #require(report.failed.first)
        #expect(report.failed.count == 1)
        #expect(failure.connection == victim.connection.id.rawValue && failure.code == "decryption_failed")
        #expect(failure.message.hasPrefix("connection \(victim.connection.id): "))
        // Nothing is repaired.
        #expect(try await rig.memory.connection(id: victim.connection.id)?.sealedCredential == tampered)
        let verified = try await rig.memory.events(AuditQuery(action: "keys.verified"))
        #expect(verified.map(\.outcome) == ["failure"])
        #expect(verified.first?.detail == "checked=3 ok=2 failed=1")
        let flagged = try await rig.memory.events(AuditQuery(action: "connection.integrity_failed"))
        #expect(flagged.map(\.connectionID) == [victim.connection.id])
        #expect(flagged.first?.owner == victim.connection.owner && flagged.first?.detail == "decryption_failed")
    }

    @Test func everyCredentialIsCheckedAcrossBatchesAndConnectionsWithoutOneAreSkipped() async throws {
        let rig = try await KeysRig(owners: 5)
        try await rig.memory.insert(
            Connection(
                id: .random(), provider: "slack", owner: KeysRig.owner(0), state: .installed, createdAt: rig.clock.now, updatedAt: rig.clock.now),
            sealedCredential: nil)
        var check = check(rig)
        check.batchSize = 2

        let report = try await check.run()

        #expect(report.checked == 5 && report.ok == 5 && report.failed.isEmpty)
        let verified = try await rig.memory.events(AuditQuery(action: "keys.verified"))
        #expect(verified.map(\.outcome) == ["success"])
        #expect(verified.first?.detail == "checked=5 ok=5 failed=0" && verified.first?.at == rig.clock.now)
    }

    @Test func aCheckAfterARotationFindsEveryCredentialIntact() async throws {
        let rig = try await KeysRig(owners: 3)
        let rotated = try await rig.process.rotation.rotate(batchSize: 10, newVersion: nil)
        #expect(rotated.retired == [1])

        let report = try await check(rig).run()

        #expect(report.checked == 3 && report.ok == 3 && report.failed.isEmpty)
    }
}
