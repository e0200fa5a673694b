import Foundation

/// An agent's MCP session, as every replica sees it: enough to serve the session's next request on any replica.
public struct StoredMCPSession: Sendable, Equatable {
    /// The SHA-256 (hex) of the session id: the id itself is a bearer value and is never stored.
    public var idHash: String
    /// The agent that opened it (its owner reference); no other agent may use it.
    public var agent: String
    /// The SHA-256 of the key it was opened with; a session opened with one key is unknown to another.
    public var keyHash: String?
    /// The client's `initialize` parameters (protocol version, capabilities, client info) as JSON, replayed when
    /// another replica takes the session up.
    public var initialize: [UInt8]
    public var openedAt: Date
    /// When a request last used it; the row is written at most once a minute for this.
    public var lastUsed: Date

    public init(idHash: String, agent: String, keyHash: String?, initialize: [UInt8], openedAt: Date, lastUsed: Date) {
        self.idHash = idHash
        self.agent = agent
        self.keyHash = keyHash
        self.initialize = initialize
        self.openedAt = openedAt
        self.lastUsed = lastUsed
    }
}

/// The agents' MCP sessions, shared by every replica.
///
/// Contract: `openMCPSession` stores `session`, then, in the same transaction, removes the agent's least recently
/// used sessions beyond the newest `keepingAtMost` and every session (of any agent) last used before `idleBefore`.
/// `mcpSession` reads one by its id hash; `touchMCPSession` records a use; `closeMCPSession` removes it and says
/// whether it was there. A row that cannot be read is `malformed_row`.
public protocol MCPSessionStore: Sendable {
    func openMCPSession(_ session: StoredMCPSession, keepingAtMost: Int, idleBefore: Date) async throws
    func mcpSession(idHash: String) async throws -> StoredMCPSession?
    func touchMCPSession(idHash: String, at: Date) async throws
    func closeMCPSession(idHash: String) async throws -> Bool
}
