import Foundation
import LatchkeyModel

/// One call an agent made under a grant that needs a person's approval of each call: what was asked (sealed), who
/// decided, and, once it ran, the provider's answer (sealed).
public struct ApprovalRecord: Sendable, Hashable {
    /// Where an approval stands. A pending approval past its `expiresAt` is expired; the store keeps it `pending`.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Waiting for a decision.
        case pending
        /// Approved: the one replica that approved it is running the call.
        case running
        /// The call ran; the provider's answer is in `sealedResult`.
        case done
        /// The call could not run (the grant, key or connection was gone by then); `sealedResult` says why.
        case failed
        /// Declined: the call never runs.
        case declined
    }

    /// `apr_` and 32 hex digits.
    public var id: String
    /// The agent that made the call.
    public var agent: OwnerRef
    /// The SHA-256 of the key the call came with: the agent's own key, or one it narrowed.
    public var keyHash: String
    public var provider: ProviderID
    /// The connection the call runs on.
    public var connection: ConnectionID
    /// The connection's owner: its person may approve, and its data key seals the call and the answer.
    public var connectionOwner: OwnerRef
    /// What is asked, without its arguments or body: `GET github /repos/acme/x`, or `github.create_issue`.
    public var summary: String
    /// The call itself (method, path, query, headers and body, or tool and arguments), sealed.
    public var sealedCall: [UInt8]
    public var state: State
    public var createdAt: Date
    /// Until when a decision can be made.
    public var expiresAt: Date
    /// Who approved or declined: `admin`, or a person's owner reference.
    public var decidedBy: String?
    public var decidedAt: Date?
    /// The provider's status, once the call ran.
    public var resultStatus: Int?
    /// The provider's answer (or why the call could not run), sealed.
    public var sealedResult: [UInt8]?
    public var finishedAt: Date?

    public init(
        id: String, agent: OwnerRef, keyHash: String, provider: ProviderID, connection: ConnectionID, connectionOwner: OwnerRef,
        summary: String, sealedCall: [UInt8], state: State = .pending, createdAt: Date, expiresAt: Date, decidedBy: String? = nil,
        decidedAt: Date? = nil, resultStatus: Int? = nil, sealedResult: [UInt8]? = nil, finishedAt: Date? = nil
    ) {
        self.id = id
        self.agent = agent
        self.keyHash = keyHash
        self.provider = provider
        self.connection = connection
        self.connectionOwner = connectionOwner
        self.summary = summary
        self.sealedCall = sealedCall
        self.state = state
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.resultStatus = resultStatus
        self.sealedResult = sealedResult
        self.finishedAt = finishedAt
    }
}

/// Which approvals to list: every filter that is set must hold.
public struct ApprovalQuery: Sendable, Hashable {
    public var states: Set<ApprovalRecord.State>?
    public var agent: OwnerRef?
    public var connectionOwner: OwnerRef?
    public var limit: Int

    public init(states: Set<ApprovalRecord.State>? = nil, agent: OwnerRef? = nil, connectionOwner: OwnerRef? = nil, limit: Int = 100) {
        self.states = states
        self.agent = agent
        self.connectionOwner = connectionOwner
        self.limit = limit
    }
}

/// Approvals of single calls.
///
/// Contract:
/// - `addApproval` stores a new approval (`conflict` for an id already used; the agent must exist).
/// - `approval(id:)` finds one by id, whatever its state.
/// - `approvals(_:)` lists those matching the query, newest first (`createdAt`, then `id`, descending), at most
///   `limit`.
/// - `decideApproval` is the one step that decides: it moves a `pending` approval whose `expiresAt` is after `at` to
///   `running` (approve) or `declined`, records who and when, and returns the record as stored. For any other
///   approval (decided before, expired, unknown) it returns nil. Of any number of concurrent decisions, on any number
///   of replicas, exactly one gets a record: the call runs at most once.
/// - `finishApproval` moves a `running` approval to `done` or `failed` with its status, sealed answer and time, and
///   returns whether it did; an approval in any other state is left as it is.
/// - `purgeApprovals(before:)` deletes approvals that ended before `before`: finished, declined, or still pending with
///   `expiresAt` before it. It returns how many it deleted. Running approvals stay.
public protocol ApprovalStore: Sendable {
    func addApproval(_ approval: ApprovalRecord) async throws
    func approval(id: String) async throws -> ApprovalRecord?
    func approvals(_ query: ApprovalQuery) async throws -> [ApprovalRecord]
    func decideApproval(id: String, approve: Bool, by: String, at: Date) async throws -> ApprovalRecord?
    func finishApproval(id: String, succeeded: Bool, status: Int?, sealedResult: [UInt8], at: Date) async throws -> Bool
    func purgeApprovals(before: Date) async throws -> Int
}

extension ApprovalRecord.State {
    /// The state a row's `state` column holds; `malformedRow` for text that names no state.
    public init(stored text: String) throws(LatchkeyError) {
        guard let state = Self(rawValue: text) else { throw .malformedRow(column: "state") }
        self = state
    }
}
