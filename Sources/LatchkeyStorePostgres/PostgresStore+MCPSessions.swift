import Foundation
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func openMCPSession(_ session: StoredMCPSession, keepingAtMost: Int, idleBefore: Date) async throws {
        try await transaction { tx in
            try await tx.execute(
                """
                INSERT INTO mcp_sessions (id_hash, agent, key_hash, initialize, opened_at, last_used)
                VALUES (\(session.idHash), \(session.agent), \(session.keyHash), \(Self.bytes(session.initialize)),
                    \(Self.time(session.openedAt)), \(Self.time(session.lastUsed)))
                """)
            try await tx.execute("DELETE FROM mcp_sessions WHERE last_used < \(Self.time(idleBefore))")
            try await tx.execute(
                """
                DELETE FROM mcp_sessions WHERE id_hash IN (
                    SELECT id_hash FROM mcp_sessions WHERE agent = \(session.agent)
                    ORDER BY last_used DESC, opened_at DESC OFFSET \(keepingAtMost))
                """)
        }
    }

    public func mcpSession(idHash: String) async throws -> StoredMCPSession? {
        try await execute("SELECT * FROM mcp_sessions WHERE id_hash = \(idHash)").first.map(Self.mcpSession)
    }

    public func touchMCPSession(idHash: String, at: Date) async throws {
        _ = try await execute("UPDATE mcp_sessions SET last_used = \(Self.time(at)) WHERE id_hash = \(idHash) RETURNING id_hash")
    }

    public func closeMCPSession(idHash: String) async throws -> Bool {
        try await !execute("DELETE FROM mcp_sessions WHERE id_hash = \(idHash) RETURNING id_hash").isEmpty
    }

    static func mcpSession(_ row: PostgresRandomAccessRow) throws -> StoredMCPSession {
        StoredMCPSession(
            idHash: try row.required("id_hash"), agent: try row.required("agent"), keyHash: try row.value("key_hash", as: String?.self),
            initialize: bytes(try row.value("initialize", as: ByteBuffer?.self)) ?? [],
            openedAt: try StoredTime.required(try row.value("opened_at"), "opened_at"),
            lastUsed: try StoredTime.required(try row.value("last_used"), "last_used"))
    }
}
