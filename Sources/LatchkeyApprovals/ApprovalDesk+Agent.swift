import Foundation
import LatchkeyAPI
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore

extension ApprovalDesk {
    /// The longest an agent's poll waits for a decision.
    public static let longestWait: Duration = .seconds(30)
    /// How often a waiting poll reads the store again (a decision may come on another replica).
    static let pollInterval: Duration = .milliseconds(200)

    /// Where an agent's approval stands when it asks.
    public enum Standing: Sendable {
        /// Still waiting for a decision, or running.
        case waiting(ApprovalView)
        /// The call ran: the provider's answer, as the direct call would have given it.
        case done(ApprovalView, result: JSONValue)
    }

    /// The approval `id` of the agent `caller`, after waiting up to `wait` for it to end. A narrowed key sees only
    /// its own approvals; the agent's own key sees all of the agent's. Declined is 403 `approval_declined`, expired 410
    /// `approval_expired`, and a call that could not run gives the error it met.
    public func poll(_ id: String, caller: Caller, wait: Duration) async throws -> Standing {
        let deadline = clock.now.addingTimeInterval(min(wait, Self.longestWait).timeInterval)
        while true {
            guard let record = try await store.approval(id: id), Self.isOwn(record, caller) else {
                throw LatchkeyError(.notFound, "approval: no approval \(id) of this agent", field: "approval")
            }
            let now = clock.now
            switch record.state {
            case .pending where record.expiresAt <= now:
                throw Self.expired(id)
            case .declined:
                throw LatchkeyError(.approvalDeclined, "approval: \(id) was declined by \(record.decidedBy ?? "a person"); the call never ran", field: "approval")
            case .failed:
                var error = try await storedError(of: record)
                error.message = "the approved call \(id) could not run: " + error.message
                throw error
            case .done:
                let result = try await vault.open(record.sealedResult ?? [], binding: record.binding("approval.result"))
                guard let json = JSONValue.parse(result) else { throw LatchkeyError.malformedRow(column: "sealed_result") }
                return .done(await view(record, showCall: false), result: json)
            case .running where Self.isAbandoned(record, at: now):
                await abandon(record)
            case .pending, .running:
                guard now < deadline else { return .waiting(await view(record, showCall: false)) }
                try await clock.sleep(for: Self.pollInterval)
            }
        }
    }

    /// Whether `record` is the calling agent's: made by it, and, for a narrowed key, with that very key.
    static func isOwn(_ record: ApprovalRecord, _ caller: Caller) -> Bool {
        guard case .agent(let agent, let scope, _) = caller, agent == record.agent else { return false }
        return scope == nil || caller.keyHash == record.keyHash
    }

    /// The error a failed approval stored.
    func storedError(of record: ApprovalRecord) async throws -> LatchkeyError {
        let opened = try await vault.open(record.sealedResult ?? [], binding: record.binding("approval.result"))
        guard case .object(let error)? = JSONValue.parse(opened)?.objectValue?["error"], case .string(let code)? = error["code"],
            case .string(let message)? = error["message"]
        else { throw LatchkeyError.malformedRow(column: "sealed_result") }
        return LatchkeyError(LatchkeyError.Code(rawValue: code), message, field: error["field"]?.stringValue)
    }

    /// `record` as the API shows it; the held call (secrets masked) only when `showCall`, for those who decide.
    public func view(_ record: ApprovalRecord, showCall: Bool) async -> ApprovalView {
        var call: JSONValue?
        if showCall, let opened = try? await vault.open(record.sealedCall, binding: record.binding("approval.call")),
            let pending = StoredJSON.decode(PendingCall.self, String(decoding: opened, as: UTF8.self))
        {
            call = SecretMask.view(pending)
        }
        let state = record.state == .pending && record.expiresAt <= clock.now ? "expired" : record.state.rawValue
        return ApprovalView(
            id: record.id, state: state, agent: record.agent.description, key: "key_" + record.keyHash.prefix(12),
            provider: record.provider.rawValue, connection: record.connection.rawValue, connectionOwner: record.connectionOwner.description,
            summary: record.summary, call: call, url: ApprovalFiler.page(of: record, publicURL: publicURL), createdAt: record.createdAt,
            expiresAt: record.expiresAt, decidedBy: record.decidedBy, decidedAt: record.decidedAt, finishedAt: record.finishedAt,
            resultStatus: record.resultStatus)
    }
}
