import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Agents' MCP sessions, shared by every replica, in the store contract on every available engine.
@Suite("MCP session store contract")
struct MCPSessionStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.25)
    let initialize = Array(#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}"#.utf8)

    func session(_ id: String, agent: String = "agent:acme/bot", key: String? = "k1", usedAt: TimeInterval = 0) -> StoredMCPSession {
        StoredMCPSession(
            idHash: id, agent: agent, keyHash: key, initialize: initialize, openedAt: now.addingTimeInterval(usedAt - 1),
            lastUsed: now.addingTimeInterval(usedAt))
    }

    @Test(arguments: StoreEngine.available) func aSessionOpenedOnOneReplicaIsReadOnAnother(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.mcpSession(idHash: "s1") == nil)
        try await store.openMCPSession(session("s1"), keepingAtMost: 64, idleBefore: now.addingTimeInterval(-1800))
        try await store.openMCPSession(session("s2", key: nil), keepingAtMost: 64, idleBefore: now.addingTimeInterval(-1800))
        #expect(try await store.mcpSession(idHash: "s1") == session("s1"))
        #expect(try await store.mcpSession(idHash: "s2") == session("s2", key: nil))
        // A second session under the same id hash is a conflict, not a silent takeover.
        await #expect(throws: LatchkeyError.self) {
            try await store.openMCPSession(session("s1", agent: "agent:acme/other"), keepingAtMost: 64, idleBefore: now.addingTimeInterval(-1800))
        }
        #expect(try await store.mcpSession(idHash: "s1")?.agent == "agent:acme/bot")
    }

    @Test(arguments: StoreEngine.available) func aUseIsRecordedAndAClosedSessionIsGone(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.openMCPSession(session("s1"), keepingAtMost: 64, idleBefore: now.addingTimeInterval(-1800))
        try await store.touchMCPSession(idHash: "s1", at: now.addingTimeInterval(90))
        #expect(try await store.mcpSession(idHash: "s1")?.lastUsed == now.addingTimeInterval(90))
        #expect(try await store.closeMCPSession(idHash: "s1"))
        #expect(try await !store.closeMCPSession(idHash: "s1"))
        #expect(try await store.mcpSession(idHash: "s1") == nil)
        // A use of a closed session does not bring it back.
        try await store.touchMCPSession(idHash: "s1", at: now.addingTimeInterval(120))
        #expect(try await store.mcpSession(idHash: "s1") == nil)
    }

    @Test(arguments: StoreEngine.available) func anAgentKeepsItsMostRecentlyUsedSessionsAndIdleOnesExpire(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let idle = now.addingTimeInterval(-1800)
        try await store.openMCPSession(session("old", usedAt: -2000), keepingAtMost: 3, idleBefore: now.addingTimeInterval(-5000))
        try await store.openMCPSession(session("other", agent: "agent:acme/other", usedAt: -2000), keepingAtMost: 3, idleBefore: now.addingTimeInterval(-5000))
        for (i, usedAt) in [-30.0, -20, -10].enumerated() {
            try await store.openMCPSession(session("a\(i)", usedAt: usedAt), keepingAtMost: 3, idleBefore: now.addingTimeInterval(-5000))
        }
        // Three of the agent's four kept: the least recently used went.
        #expect(try await store.mcpSession(idHash: "old") == nil)
        #expect(try await store.mcpSession(idHash: "other") != nil)
        // a0 was used most recently before the next one opens: a1 goes instead.
        try await store.touchMCPSession(idHash: "a0", at: now)
        try await store.openMCPSession(session("a3", usedAt: 0), keepingAtMost: 3, idleBefore: idle)
        #expect(try await store.mcpSession(idHash: "a1") == nil)
        for kept in ["a0", "a2", "a3"] { #expect(try await store.mcpSession(idHash: kept) != nil) }
        // Opening a session also removes every agent's idle sessions.
        #expect(try await store.mcpSession(idHash: "other") == nil)
    }

    @Test(arguments: StoreEngine.sql) func theMigrationIsVersion19(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains("v19: agents' MCP sessions, for every replica"))
    }

    /// A session row whose last use is no time fails its read naming the column, and the others still read.
    @Test func aDamagedRowFailsTheReadNamingTheColumn() async throws {
        let store = try await StoreEngine.sqlite.makeRawSQLStore()
        try await store.openMCPSession(session("s1"), keepingAtMost: 64, idleBefore: now.addingTimeInterval(-1800))
        try await store.openMCPSession(session("s2"), keepingAtMost: 64, idleBefore: now.addingTimeInterval(-1800))
        try await store.executeRaw("UPDATE mcp_sessions SET last_used = 'yesterday' WHERE id_hash = 's1'")
        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.mcpSession(idHash: "s1") }
        #expect(error?.message.contains("last_used") == true)
        #expect(try await store.mcpSession(idHash: "s2") == session("s2"))
    }
}
