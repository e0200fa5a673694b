import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: MCPSessionStore {
    public func openMCPSession(_ session: StoredMCPSession, keepingAtMost: Int, idleBefore: Date) async throws {
        try locked { state throws(LatchkeyError) in
            guard state.mcpSessions[session.idHash] == nil else {
                throw LatchkeyError(.conflict, "the record already exists or refers to a missing one")
            }
            state.mcpSessions[session.idHash] = session
            state.mcpSessions = state.mcpSessions.filter { $0.value.lastUsed >= idleBefore }
            let agents = state.mcpSessions.values.filter { $0.agent == session.agent }
                .sorted { ($0.lastUsed, $0.openedAt) > ($1.lastUsed, $1.openedAt) }
            for old in agents.dropFirst(keepingAtMost) { state.mcpSessions.removeValue(forKey: old.idHash) }
        }
    }

    public func mcpSession(idHash: String) async throws -> StoredMCPSession? {
        locked { state in state.mcpSessions[idHash] }
    }

    public func touchMCPSession(idHash: String, at: Date) async throws {
        locked { state in state.mcpSessions[idHash]?.lastUsed = at }
    }

    public func closeMCPSession(idHash: String) async throws -> Bool {
        locked { state in state.mcpSessions.removeValue(forKey: idHash) != nil }
    }
}
