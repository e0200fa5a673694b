import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore

/// Holds calls that wait for a person's approval: seals the call under the connection owner's data key, stores it
/// pending for the decision window (30 minutes by default), audits it, and answers with where to follow it.
public struct ApprovalFiler: ApprovalFiling {
    let store: any ApprovalStore
    let vault: CredentialVault
    let audit: AuditTrail
    let clock: any LatchkeyClock
    /// The server's public base URL, for the approval's page.
    let publicURL: String
    /// How long a person has to decide.
    let decisionWindow: TimeInterval
    /// How long an ended approval (and a call's answer) is kept before it is deleted.
    public static let retention: TimeInterval = 24 * 3600

    public init(
        store: any ApprovalStore, vault: CredentialVault, audit: AuditTrail, clock: any LatchkeyClock, publicURL: String,
        decisionWindow: TimeInterval = 30 * 60
    ) {
        self.store = store
        self.decisionWindow = decisionWindow
        self.vault = vault
        self.audit = audit
        self.clock = clock
        self.publicURL = publicURL
    }

    public func file(_ call: PendingCall, summary: String, connection: Connection, caller: Caller) async throws -> ApprovalTicket {
        guard case .agent(let agent, _, _) = caller, let keyHash = caller.keyHash else {
            throw LatchkeyError(.forbidden, "only an agent's call, made with a key, waits for approval")
        }
        let now = clock.now
        let id = "apr_" + SecretHash.hex(RandomToken.bytes(16))
        let sealed = try await vault.seal(Array(StoredJSON.encode(call).utf8), binding: Self.callBinding(id: id, connection: connection))
        let record = ApprovalRecord(
            id: id, agent: agent, keyHash: keyHash, provider: connection.provider, connection: connection.id, connectionOwner: connection.owner,
            summary: summary, sealedCall: sealed, createdAt: now, expiresAt: now.addingTimeInterval(decisionWindow))
        try await store.addApproval(record)
        await audit.record(AuditEvent(
            at: now, actor: AuditActor(caller), action: .approvalRequested, owner: agent, provider: connection.provider,
            connectionID: connection.id, detail: "\(id): \(summary), with key_\(keyHash.prefix(12))"))
        // Ended approvals go after their retention; a failure to purge costs nothing now.
        _ = try? await store.purgeApprovals(before: now.addingTimeInterval(-Self.retention))
        return ApprovalTicket(id: id, url: Self.page(of: record, publicURL: publicURL), expiresAt: record.expiresAt)
    }

    /// Where a person decides on `record`: the person console for a person's connection, the dashboard otherwise.
    public static func page(of record: ApprovalRecord, publicURL: String) -> String {
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        return record.connectionOwner.kind == .user ? "\(base)/me/approvals/\(record.id)" : "\(base)/admin/approvals/\(record.id)"
    }

    /// What seals a held call: bound to the approval and the connection's owner and provider.
    static func callBinding(id: String, connection: Connection) -> SealBinding {
        SealBinding(purpose: "approval.call", rowID: id, owner: connection.owner, provider: connection.provider)
    }
}

extension ApprovalRecord {
    /// What seals this approval's held call and its answer.
    func binding(_ purpose: String) -> SealBinding {
        SealBinding(purpose: purpose, rowID: id, owner: connectionOwner, provider: provider)
    }
}
