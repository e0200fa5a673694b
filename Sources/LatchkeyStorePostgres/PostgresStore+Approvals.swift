import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Approvals

extension PostgresStore {
    public func addApproval(_ a: ApprovalRecord) async throws {
        // A missing agent fails the foreign key, a used id the primary key: both are `conflict`.
        try await execute(
            """
            INSERT INTO approvals (id, agent, key_hash, provider, connection, connection_owner, summary, sealed_call, state, created_at,
                expires_at, decided_by, decided_at, result_status, sealed_result, finished_at)
            VALUES (\(a.id), \(a.agent.description), \(a.keyHash), \(a.provider.rawValue), \(a.connection.rawValue),
                \(a.connectionOwner.description), \(a.summary), \(Self.bytes(a.sealedCall)), \(a.state.rawValue), \(Self.time(a.createdAt)),
                \(Self.time(a.expiresAt)), \(a.decidedBy), \(a.decidedAt.map(Self.time)), \(a.resultStatus), \(a.sealedResult.map(Self.bytes)),
                \(a.finishedAt.map(Self.time)))
            """)
    }

    public func approval(id: String) async throws -> ApprovalRecord? {
        try await execute("SELECT * FROM approvals WHERE id = \(id)").first.map(Self.approval)
    }

    public func approvals(_ query: ApprovalQuery) async throws -> [ApprovalRecord] {
        var filter = PostgresFilter([("agent", query.agent?.description), ("connection_owner", query.connectionOwner?.description)])
        if let states = query.states { filter.add("state = ANY($?)", states.map(\.rawValue).sorted()) }
        var binds = filter.binds
        binds.append(max(query.limit, 0))
        // COLLATE "C": ids in byte order, as SQLite compares text, whatever the database's collation.
        let sql = "SELECT * FROM approvals\(filter.whereSQL) ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $\(binds.count)"
        return try await execute(PostgresQuery(unsafeSQL: sql, binds: binds)).map(Self.approval)
    }

    public func decideApproval(id: String, approve: Bool, by: String, at: Date) async throws -> ApprovalRecord? {
        // One conditional statement: a racing decider waits on the row lock, then re-checks `state = 'pending'` against
        // the committed row and finds it decided. Of any number of deciders, on any replicas, one gets the row.
        let decided: ApprovalRecord.State = approve ? .running : .declined
        return try await execute(
            """
            UPDATE approvals SET state = \(decided.rawValue), decided_by = \(by), decided_at = \(Self.time(at))
            WHERE id = \(id) AND state = 'pending' AND expires_at > \(Self.time(at)) RETURNING *
            """
        ).first.map(Self.approval)
    }

    public func finishApproval(id: String, succeeded: Bool, status: Int?, sealedResult: [UInt8], at: Date) async throws -> Bool {
        let finished: ApprovalRecord.State = succeeded ? .done : .failed
        return try await !execute(
            """
            UPDATE approvals SET state = \(finished.rawValue), result_status = \(status), sealed_result = \(Self.bytes(sealedResult)),
                finished_at = \(Self.time(at))
            WHERE id = \(id) AND state = 'running' RETURNING 1
            """
        ).isEmpty
    }

    public func purgeApprovals(before: Date) async throws -> Int {
        let cutoff = Self.time(before)
        return try await execute(
            """
            DELETE FROM approvals
            WHERE (state IN ('done', 'failed') AND finished_at < \(cutoff)) OR (state = 'declined' AND decided_at < \(cutoff))
                OR (state = 'pending' AND expires_at < \(cutoff))
            RETURNING 1
            """
        ).count
    }

    static func approval(_ row: PostgresRandomAccessRow) throws -> ApprovalRecord {
        ApprovalRecord(
            id: try row.required("id"),
            agent: try OwnerRef(stored: row.required("agent"), column: "agent"),
            keyHash: try row.required("key_hash"),
            provider: ProviderID(try row.required("provider", as: String.self)),
            connection: ConnectionID(rawValue: try row.required("connection")),
            connectionOwner: try OwnerRef(stored: row.required("connection_owner"), column: "connection_owner"),
            summary: try row.required("summary"),
            sealedCall: Array(try row.required("sealed_call", as: ByteBuffer.self).readableBytesView),
            state: try ApprovalRecord.State(stored: row.required("state")),
            createdAt: try StoredTime.required(try row.value("created_at"), "created_at"),
            expiresAt: try StoredTime.required(try row.value("expires_at"), "expires_at"),
            decidedBy: try row.value("decided_by"),
            decidedAt: date(try row.value("decided_at")),
            resultStatus: try row.value("result_status"),
            sealedResult: bytes(try row.value("sealed_result", as: ByteBuffer?.self)),
            finishedAt: date(try row.value("finished_at")))
    }
}
