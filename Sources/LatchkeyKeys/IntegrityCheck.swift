import Foundation
import LatchkeyAPI
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Opens every stored credential once, in batches, and reports those that do not open.
///
/// Each credential is sealed with AES-256-GCM under its owner's data key, with its connection id, owner and
/// provider as authenticated data. A ciphertext that was altered, or copied from another row, fails
/// authentication and is reported as `decryption_failed` naming the connection; nothing is repaired or changed.
/// No credential leaves the process.
public struct IntegrityCheck: Sendable {
    let store: any ConnectionStore
    let vault: CredentialVault
    let audit: AuditTrail
    let clock: any LatchkeyClock
    /// Credentials read per store call.
    public var batchSize = 500

    public init(store: any ConnectionStore, vault: CredentialVault, audit: AuditTrail, clock: any LatchkeyClock) {
        self.store = store
        self.vault = vault
        self.audit = audit
        self.clock = clock
    }
    /// The most failures listed in one report.
    static let maxListed = 1000

    public func run() async throws -> IntegrityReport {
        var report = IntegrityReport()
        var after: ConnectionID?
        while true {
            let batch = try await store.sealedConnections(after: after, limit: batchSize)
            guard let last = batch.last else { break }
            for stored in batch {
                guard let sealed = stored.sealedCredential else { continue }
                report.checked += 1
                do {
                    _ = try await vault.openCredential(sealed, for: stored.connection)
                    report.ok += 1
                } catch let error as LatchkeyError {
                    await record(stored.connection, code: error.code.rawValue, message: error.message, in: &report)
                } catch {
                    await record(
                        stored.connection, code: LatchkeyError.Code.internalError.rawValue,
                        message: "connection \(stored.connection.id): its credential opened but is not a credential", in: &report)
                }
            }
            after = last.connection.id
        }
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .keysVerified, outcome: report.ok == report.checked ? "success" : "failure",
            detail: "checked=\(report.checked) ok=\(report.ok) failed=\(report.checked - report.ok)"))
        return report
    }

    private func record(_ connection: Connection, code: String, message: String, in report: inout IntegrityReport) async {
        if report.failed.count < Self.maxListed {
            report.failed.append(IntegrityReport.Failure(connection: connection.id.rawValue, code: code, message: message))
        }
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .connectionIntegrityFailed, owner: connection.owner,
            provider: connection.provider, connectionID: connection.id, outcome: "failure", detail: code))
    }
}
