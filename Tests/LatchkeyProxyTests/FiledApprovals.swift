import Foundation
import LatchkeyModel
import LatchkeyProxy
import Synchronization

/// Keeps the calls filed for approval, in order, and answers each with a ticket.
final class FiledApprovals: ApprovalFiling {
    let filed = Mutex<[(call: PendingCall, summary: String, connection: ConnectionID, caller: Caller)]>([])

    func file(_ call: PendingCall, summary: String, connection: Connection, caller: Caller) async throws -> ApprovalTicket {
        let count = filed.withLock { filed in
            filed.append((call, summary, connection.id, caller))
            return filed.count
        }
        return ApprovalTicket(id: "apr_\(count)", url: "https://lk.test/admin/approvals/apr_\(count)", expiresAt: Date(timeIntervalSince1970: 1_800_001_800))
    }
}
