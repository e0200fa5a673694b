import Foundation
import LatchkeyModel

/// One audit record: who did what, to which owner, provider and connection. Never a secret.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var id: Int64?
    public var at: Date
    /// `admin`, an agent reference, `browser`, or `system`.
    public var actor: String
    /// A dotted action name such as `connection.connected` or `owner.created`.
    public var action: String
    public var owner: OwnerRef?
    public var provider: ProviderID?
    public var connectionID: ConnectionID?
    /// `success` or `failure`.
    public var outcome: String
    /// A short non-secret detail, such as an error code.
    public var detail: String?

    public init(
        id: Int64? = nil, at: Date, actor: String, action: String, owner: OwnerRef? = nil, provider: ProviderID? = nil,
        connectionID: ConnectionID? = nil, outcome: String = "success", detail: String? = nil
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.owner = owner
        self.provider = provider
        self.connectionID = connectionID
        self.outcome = outcome
        self.detail = detail
    }
}

/// The append-only audit log. Contract: events are never updated or deleted; listing is newest first.
public protocol AuditStore: Sendable {
    func append(_ event: AuditEvent) async throws
    func events(ownerPrefix: OwnerRef?, since: Date?, limit: Int) async throws -> [AuditEvent]
}

/// Everything Latchkey stores, behind one value that a live store (SQLite, PostgreSQL) implements.
public protocol LatchkeyStorage: IdentityStore, DataKeyStore, AppStore, ConnectionStore, PendingFlowStore, AuditStore, GrantStore,
    CreditStore, WebhookStore {}
