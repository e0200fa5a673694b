import Foundation
import GRDB
import LatchkeyStore

extension SQLiteStore {
    public func openMCPSession(_ session: StoredMCPSession, keepingAtMost: Int, idleBefore: Date) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO mcp_sessions (id_hash, agent, key_hash, initialize, opened_at, last_used) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.idHash, session.agent, session.keyHash, Data(session.initialize), Self.time(session.openedAt),
                    Self.time(session.lastUsed),
                ])
            try db.execute(sql: "DELETE FROM mcp_sessions WHERE last_used < ?", arguments: [Self.time(idleBefore)])
            try db.execute(
                sql: """
                    DELETE FROM mcp_sessions WHERE id_hash IN (
                        SELECT id_hash FROM mcp_sessions WHERE agent = ? ORDER BY last_used DESC, opened_at DESC LIMIT -1 OFFSET ?)
                    """,
                arguments: [session.agent, keepingAtMost])
        }
    }

    public func mcpSession(idHash: String) async throws -> StoredMCPSession? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM mcp_sessions WHERE id_hash = ?"), arguments: [idHash]).map(Self.mcpSession)
        }
    }

    public func touchMCPSession(idHash: String, at: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE mcp_sessions SET last_used = ? WHERE id_hash = ?", arguments: [Self.time(at), idHash])
        }
    }

    public func closeMCPSession(idHash: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM mcp_sessions WHERE id_hash = ?", arguments: [idHash])
            return db.changesCount == 1
        }
    }

    static func mcpSession(_ row: Row) throws -> StoredMCPSession {
        StoredMCPSession(
            idHash: try required(row, "id_hash"), agent: try required(row, "agent"), keyHash: try optional(row, "key_hash"),
            initialize: Array(try required(row, "initialize", as: Data.self)), openedAt: try time(row, "opened_at"),
            lastUsed: try time(row, "last_used"))
    }
}
