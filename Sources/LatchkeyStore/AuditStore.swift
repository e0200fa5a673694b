import Foundation
import LatchkeyModel

/// One audit record: who did what, to which owner, provider and connection. Never a secret.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var id: Int64?
    public var at: Date
    /// `admin`, `system`, `browser`, or an agent or person acting for themselves.
    public var actor: AuditActor
    /// A dotted action name such as `connection.connected` or `owner.created`.
    public var action: AuditAction
    public var owner: OwnerRef?
    public var provider: ProviderID?
    public var connectionID: ConnectionID?
    /// `success` or `failure`.
    public var outcome: String
    /// A short non-secret detail, such as an error code.
    public var detail: String?

    /// The JSON names, as the admin API shows them.
    enum CodingKeys: String, CodingKey {
        case id, at, actor, action, owner, provider, outcome, detail
        case connectionID = "connection"
    }

    public init(
        id: Int64? = nil, at: Date, actor: AuditActor, action: AuditAction, owner: OwnerRef? = nil, provider: ProviderID? = nil,
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

/// Which audit events to list. Every filter that is set must hold; `nil` filters nothing.
public struct AuditQuery: Sendable, Equatable {
    /// Events of this owner or any owner below it (`org:acme` covers its teams, projects, agents and users).
    public var ownerPrefix: OwnerRef?
    /// At or after this time.
    public var since: Date?
    /// Before this time.
    public var until: Date?
    /// An exact action (`connection.refreshed`), or every action under a dotted prefix (`connection.`).
    public var action: String?
    public var provider: ProviderID?
    public var connectionID: ConnectionID?
    /// `admin`, `system`, `browser` or an agent reference.
    public var actor: String?
    /// `success` or `failure`.
    public var outcome: String?
    /// Only events older than this id (the next page of a newest-first listing).
    public var beforeID: Int64?
    /// At most this many events.
    public var limit: Int

    public init(
        ownerPrefix: OwnerRef? = nil, since: Date? = nil, until: Date? = nil, action: String? = nil, provider: ProviderID? = nil,
        connectionID: ConnectionID? = nil, actor: String? = nil, outcome: String? = nil, beforeID: Int64? = nil, limit: Int = 200
    ) {
        self.ownerPrefix = ownerPrefix
        self.since = since
        self.until = until
        self.action = action
        self.provider = provider
        self.connectionID = connectionID
        self.actor = actor
        self.outcome = outcome
        self.beforeID = beforeID
        self.limit = limit
    }
}

/// The append-only audit log. Contract: events are never updated or deleted; listing is newest first, with
/// increasing ids in order of appending.
///
/// Each event is appended to its org's hash chain (``AuditChain``) in the transaction that writes it, under a lock on
/// the chain's head, so replicas never fork a chain and a chain's numbers run 1, 2, 3 … without gaps.
public protocol AuditStore: Sendable {
    func append(_ event: AuditEvent) async throws
    /// The events matching `query`, newest first, at most `query.limit`.
    func events(_ query: AuditQuery) async throws -> [AuditEvent]
    /// The events with ids above `afterID`, at or after `since` when set, of `chain` only when set, in id order (which
    /// is each chain's order), at most `limit`, with their places in their chains. An event that was never chained
    /// (a forged row) is listed only when `chain` is nil.
    func chainedEvents(afterID: Int64, chain: String?, since: Date?, limit: Int) async throws -> [ChainedAuditEvent]
    /// The events of `chain` numbered above `afterSeq`, in chain order, at most `limit`.
    func auditChain(_ chain: String, afterSeq: Int64, limit: Int) async throws -> [ChainedAuditEvent]
    /// Every chain's head, by chain.
    func auditChainHeads() async throws -> [AuditChainHead]
    /// Every chain some event is in.
    func auditChainNames() async throws -> [String]
    /// Events without a complete place in a chain (written outside Latchkey), oldest first, at most `limit`.
    func unchainedAuditEvents(limit: Int) async throws -> [ChainedAuditEvent]
}

/// Everything Latchkey stores, behind one value that a live store (SQLite, PostgreSQL) implements.
public protocol LatchkeyStorage: IdentityStore, DataKeyStore, AppStore, ConnectionStore, RefreshLeaseStore, PendingFlowStore, AuditStore,
    CreditStore, WebhookStore, AdminSessionStore, ProxyStatsStore, ReplicaRegistry, KeyringStateStore, PersonStore, PersonSessionStore,
    ConsentStore, CapabilityGrantStore, NarrowedKeyStore, ApprovalStore, CredentialChoiceStore, UsageStore, MCPServerStore, MCPClientStore,
    MCPSessionStore {}
