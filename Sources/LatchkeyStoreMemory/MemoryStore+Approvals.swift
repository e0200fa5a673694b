import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: ApprovalStore {
    public func addApproval(_ approval: ApprovalRecord) async throws {
        try locked { state in
            try state.requireOwner(approval.agent)
            try state.approvals.insertNew(approval, for: approval.id, "an approval with this id")
        }
    }

    public func approval(id: String) async throws -> ApprovalRecord? {
        locked { $0.approvals[id] }
    }

    public func approvals(_ query: ApprovalQuery) async throws -> [ApprovalRecord] {
        locked { state in
            let matching = state.approvals.values.filter { approval in
                (query.states?.contains(approval.state) ?? true) && (query.agent.map { $0 == approval.agent } ?? true)
                    && (query.connectionOwner.map { $0 == approval.connectionOwner } ?? true)
            }
            return Array(
                matching.sorted { ($0.createdAt, ByteOrder($0.id)) > ($1.createdAt, ByteOrder($1.id)) }.prefix(max(query.limit, 0)))
        }
    }

    public func decideApproval(id: String, approve: Bool, by: String, at: Date) async throws -> ApprovalRecord? {
        locked { state in
            guard var approval = state.approvals[id], approval.state == .pending, approval.expiresAt > at else { return nil }
            approval.state = approve ? .running : .declined
            approval.decidedBy = by
            approval.decidedAt = at
            state.approvals[id] = approval
            return approval
        }
    }

    public func finishApproval(id: String, succeeded: Bool, status: Int?, sealedResult: [UInt8], at: Date) async throws -> Bool {
        locked { state in
            guard var approval = state.approvals[id], approval.state == .running else { return false }
            approval.state = succeeded ? .done : .failed
            approval.resultStatus = status
            approval.sealedResult = sealedResult
            approval.finishedAt = at
            state.approvals[id] = approval
            return true
        }
    }

    public func purgeApprovals(before: Date) async throws -> Int {
        locked { $0.approvals.removeAll { $0.ended.map { $0 < before } ?? false } }
    }
}

extension ApprovalRecord {
    /// When the approval ended, as `purgeApprovals` reads it: its finish, its decline, or the expiry of a pending one;
    /// nil while it runs.
    fileprivate var ended: Date? {
        switch state {
        case .done, .failed: finishedAt
        case .declined: decidedAt
        case .pending: expiresAt
        case .running: nil
        }
    }
}
