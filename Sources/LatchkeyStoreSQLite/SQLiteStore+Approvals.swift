import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Approvals

extension SQLiteStore {
    public func addApproval(_ a: ApprovalRecord) async throws {
        // A missing agent fails the foreign key, a used id the primary key: both are `conflict`.
        try await write { db in
            let values: [(any DatabaseValueConvertible & Sendable)?] = [
                a.id, a.agent.description, a.keyHash, a.provider.rawValue, a.connection.rawValue, a.connectionOwner.description, a.summary,
                Data(a.sealedCall), a.state.rawValue, Self.time(a.createdAt), Self.time(a.expiresAt), a.decidedBy, a.decidedAt.map(Self.time),
                a.resultStatus, a.sealedResult.map { Data($0) }, a.finishedAt.map(Self.time),
            ]
            try db.execute(
                sql: """
                    INSERT INTO approvals (id, agent, key_hash, provider, connection, connection_owner, summary, sealed_call, state, created_at,
                        expires_at, decided_by, decided_at, result_status, sealed_result, finished_at)
                    VALUES (\(databaseQuestionMarks(count: values.count)))
                    """,
                arguments: StatementArguments(values.map { $0 ?? DatabaseValue.null }))
        }
    }

    public func approval(id: String) async throws -> ApprovalRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM approvals WHERE id = ?"), arguments: [id]).map(Self.approval)
        }
    }

    public func approvals(_ query: ApprovalQuery) async throws -> [ApprovalRecord] {
        var filter = Filter([("agent", query.agent?.description), ("connection_owner", query.connectionOwner?.description)])
        if let states = query.states { filter.add("state", in: states.map(\.rawValue).sorted()) }
        filter.limit(max(query.limit, 0))
        return try await pool.read { [filter] db in
            let values: [(any DatabaseValueConvertible)?] = filter.arguments.map { $0 }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM approvals\(filter.whereSQL) ORDER BY created_at DESC, id DESC LIMIT ?", arguments: StatementArguments(values)
            ).map(Self.approval)
        }
    }

    public func decideApproval(id: String, approve: Bool, by: String, at: Date) async throws -> ApprovalRecord? {
        // One conditional statement, and writes are serialized: of concurrent deciders, the first moves the approval out
        // of `pending`, and the others' `WHERE` finds nothing.
        let decided: ApprovalRecord.State = approve ? .running : .declined
        return try await pool.write { db in
            try Row.fetchOne(
                db,
                sql: """
                    UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?
                    WHERE id = ? AND state = 'pending' AND expires_at > ? RETURNING *
                    """,
                arguments: [decided.rawValue, by, Self.time(at), id, Self.time(at)]
            ).map(Self.approval)
        }
    }

    public func finishApproval(id: String, succeeded: Bool, status: Int?, sealedResult: [UInt8], at: Date) async throws -> Bool {
        let finished: ApprovalRecord.State = succeeded ? .done : .failed
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE approvals SET state = ?, result_status = ?, sealed_result = ?, finished_at = ? WHERE id = ? AND state = 'running'",
                arguments: [finished.rawValue, status, Data(sealedResult), Self.time(at), id])
            return db.changesCount == 1
        }
    }

    public func purgeApprovals(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM approvals
                    WHERE (state IN ('done', 'failed') AND finished_at < ?) OR (state = 'declined' AND decided_at < ?)
                        OR (state = 'pending' AND expires_at < ?)
                    """,
                arguments: [Self.time(before), Self.time(before), Self.time(before)])
            return db.changesCount
        }
    }

    static func approval(_ row: Row) throws -> ApprovalRecord {
        ApprovalRecord(
            id: try required(row, "id"),
            agent: try OwnerRef(stored: required(row, "agent"), column: "agent"),
            keyHash: try required(row, "key_hash"),
            provider: ProviderID(try required(row, "provider", as: String.self)),
            connection: ConnectionID(rawValue: try required(row, "connection")),
            connectionOwner: try OwnerRef(stored: required(row, "connection_owner"), column: "connection_owner"),
            summary: try required(row, "summary"),
            sealedCall: Array(try required(row, "sealed_call", as: Data.self)),
            state: try ApprovalRecord.State(stored: required(row, "state")),
            createdAt: try time(row, "created_at"),
            expiresAt: try time(row, "expires_at"),
            decidedBy: try optional(row, "decided_by"),
            decidedAt: try optionalTime(row, "decided_at"),
            resultStatus: try optional(row, "result_status"),
            sealedResult: try optional(row, "sealed_result", as: Data.self).map { Array($0) },
            finishedAt: try optionalTime(row, "finished_at"))
    }
}
