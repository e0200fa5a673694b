import Foundation
import LatchkeyModel

/// The right to refresh one connection's token, held by one process until it expires.
///
/// `fence` grows by one each time the lease changes hands, so a write fenced by an older lease can be told
/// from one by the current holder, even when the older holder still believes it holds the lease.
public struct RefreshLease: Sendable, Equatable {
    public var connectionID: ConnectionID
    /// Who holds it: one process (e.g. `host:pid:random`).
    public var holder: String
    public var fence: Int64
    public var expiresAt: Date

    public init(connectionID: ConnectionID, holder: String, fence: Int64, expiresAt: Date) {
        self.connectionID = connectionID
        self.holder = holder
        self.fence = fence
        self.expiresAt = expiresAt
    }
}

/// Refresh leases: at most one refresh per connection at a time across every process sharing the store.
///
/// Contract:
/// - `acquireRefreshLease` succeeds when nobody holds the lease or the last holder's lease has expired (a process
///   that died loses it then); the new lease's fence is higher than every earlier one of that connection.
///   It returns nil while another holder's lease is live. A holder may not extend its own live lease this way:
///   it gets nil too, as a second refresh of the same connection in one process is a bug.
/// - `releaseRefreshLease` ends the lease if it is still the current one (same holder and fence), at once or, with
///   `keepOthersOutUntil`, at that time (a backoff after a failed refresh, shared by every process); otherwise it
///   does nothing.
/// - `update(_:sealedCredential:expectedVersion:fencedBy:)` writes like `update(_:sealedCredential:expectedVersion:)`,
///   and only while `lease` is still the connection's current lease (same holder and fence), in one transaction.
///   A refresher whose lease was taken over therefore never overwrites what the new holder wrote.
public protocol RefreshLeaseStore: Sendable {
    func acquireRefreshLease(_ id: ConnectionID, holder: String, now: Date, ttl: TimeInterval) async throws -> RefreshLease?
    /// `acquireRefreshLease` for several connections at once, in one transaction (one durable commit); the
    /// leases won, by connection.
    func acquireRefreshLeases(_ ids: [ConnectionID], holder: String, now: Date, ttl: TimeInterval) async throws
        -> [ConnectionID: RefreshLease]
    /// Ends refreshes, each atomically and all in one transaction: for each outcome whose lease is still current,
    /// the fenced compare-and-swap write (when it carries one), its audit event, and the lease's release (at once
    /// or at `keepOthersOutUntil`). Returns, per outcome in order, whether its connection was written. An outcome
    /// whose lease was taken over changes nothing.
    func finishRefreshes(_ outcomes: [RefreshOutcome]) async throws -> [Bool]
    func releaseRefreshLease(_ lease: RefreshLease, keepOthersOutUntil: Date?) async throws
    /// The live lease of `id`, if any (for waiting on another holder).
    func refreshLease(_ id: ConnectionID) async throws -> RefreshLease?
    func update(_ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int, fencedBy lease: RefreshLease) async throws -> Bool
}

/// How a refresh ended, to be written by its lease holder in one step.
public struct RefreshOutcome: Sendable {
    public var lease: RefreshLease
    /// The connection to write (compare-and-swap on `expectedVersion`), or nil to write nothing but the event.
    public var connection: Connection?
    public var sealedCredential: [UInt8]?
    public var expectedVersion: Int
    public var audit: AuditEvent?
    public var keepOthersOutUntil: Date?

    public init(
        lease: RefreshLease, connection: Connection?, sealedCredential: [UInt8]?, expectedVersion: Int, audit: AuditEvent?,
        keepOthersOutUntil: Date?
    ) {
        self.lease = lease
        self.connection = connection
        self.sealedCredential = sealedCredential
        self.expectedVersion = expectedVersion
        self.audit = audit
        self.keepOthersOutUntil = keepOthersOutUntil
    }
}
