import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import MCP

/// MCP sessions over Streamable HTTP: one SDK `Server` and `StatefulHTTPServerTransport` per session, bound to
/// the agent that opened it.
///
/// One transport per session matters: the SDK keys waiting requests by JSON-RPC id, so sharing a transport
/// between clients that reuse ids would cross their answers. A session id presented by another agent is
/// unknown to it (404). Idle sessions close after `idleTimeout`; an agent holds at most `maxSessionsPerAgent`.
public actor MCPSessions {
    struct Session {
        /// The agent that opened it, with its narrowed key's scope if it used one; no other key may use the session.
        let caller: Caller
        let server: Server
        let transport: StatefulHTTPServerTransport
        var lastUsed: Date
        /// The tool names this session was last told about (at its start, or in the last `tools/list_changed`).
        var toolNames: [String]
    }
    /// Watches for changes to the agents' tools while sessions are open.
    private var watcher: Task<Void, Never>?

    private var sessions: [String: Session] = [:]
    let toolServer: MCPToolServer
    /// Signalled when an agent's tools may have changed in this process (a connection written, grants set).
    let toolsChanged: WakeSignal
    let clock: any LatchkeyClock
    let validation: any HTTPRequestValidationPipeline
    let idleTimeout: TimeInterval = 30 * 60
    let maxSessionsPerAgent = 64

    /// Sessions serving `toolServer`'s tools; `publicURL` is where Latchkey is reached, for DNS-rebinding protection.
    public init(toolServer: MCPToolServer, toolsChanged: WakeSignal, clock: any LatchkeyClock, publicURL: String) {
        self.toolServer = toolServer
        self.toolsChanged = toolsChanged
        self.clock = clock
        // DNS-rebinding protection keyed to where Latchkey is really reached, not just localhost.
        var hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        var origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
        if let origin = Origin.of(publicURL) {
            origins.append(origin)
            hosts.append(String(origin.drop { $0 != "/" }.dropFirst(2)))
        }
        validation = StandardValidationPipeline(validators: [
            OriginValidator(allowedHosts: hosts, allowedOrigins: origins),
            AcceptHeaderValidator(mode: .sseRequired),
            ContentTypeValidator(),
            ProtocolVersionValidator(),
            SessionValidator(),
        ])
    }

    /// Routes one HTTP request of `caller` (an agent) to its session, opening a session on `initialize`.
    public func handle(_ request: MCP.HTTPRequest, caller: Caller) async -> MCP.HTTPResponse {
        expireIdle()
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id], session.caller == caller else {
                return .error(statusCode: 404, .invalidRequest("Not Found: session not found or expired"))
            }
            session.lastUsed = clock.now
            sessions[id] = session
            let response = await session.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                sessions.removeValue(forKey: id)
                await session.server.stop()
            }
            return response
        }
        guard request.method.uppercased() == "POST", let body = request.body, Self.isInitialize(body) else {
            // Includes the newer `server/discover` probe: clients fall back to `initialize` on this answer.
            return .error(statusCode: 400, .invalidRequest("Bad Request: send initialize first, or the \(HTTPHeaderName.sessionID) header"))
        }
        let mine = sessions.filter { $0.value.caller.actorName == caller.actorName }
        if mine.count >= maxSessionsPerAgent, let oldest = mine.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            await close(oldest.key)
        }
        let id = RandomToken.base64URL(bytes: 24)
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(id: id), validationPipeline: validation)
        let server = await toolServer.makeServer(for: caller)
        do {
            try await server.start(transport: transport)
        } catch {
            await transport.disconnect()
            return .error(statusCode: 500, .internalError("could not open an MCP session"))
        }
        let names = (try? await toolServer.tools(for: caller).map(\.name)) ?? []
        sessions[id] = Session(caller: caller, server: server, transport: transport, lastUsed: clock.now, toolNames: names)
        startWatching()
        let response = await transport.handleRequest(request)
        if case .error = response {
            await close(id)
        }
        return response
    }

    private func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await session.server.stop()
        await session.transport.disconnect()
    }

    private func expireIdle() {
        let cutoff = clock.now.addingTimeInterval(-idleTimeout)
        for (id, session) in sessions where session.lastUsed < cutoff {
            sessions.removeValue(forKey: id)
            Task {
                await session.server.stop()
                await session.transport.disconnect()
            }
        }
    }

    /// Closes every session (at shutdown).
    public func closeAll() async {
        watcher?.cancel()
        watcher = nil
        for id in Array(sessions.keys) { await close(id) }
    }

    /// Sends `notifications/tools/list_changed` to each session whose agent's tools changed: at once after a change
    /// in this process (a connection written, grants set), and within `recheckInterval` after one elsewhere
    /// (another replica).
    private func startWatching() {
        guard watcher == nil else { return }
        let signal = toolsChanged
        let interval = recheckInterval
        let clock = self.clock
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                await signal.wait(timeout: interval, clock: clock)
                guard let self, !Task.isCancelled else { return }
                await self.notifyChangedTools()
            }
        }
    }

    /// How often tools are compared when nothing in this process signalled a change.
    let recheckInterval: Duration = .seconds(5)

    private func notifyChangedTools() async {
        var namesByCaller: [Caller: [String]] = [:]
        for (id, session) in sessions {
            let names: [String]
            if let known = namesByCaller[session.caller] {
                names = known
            } else {
                guard let fresh = try? await toolServer.tools(for: session.caller).map(\.name)
                else { continue }
                namesByCaller[session.caller] = fresh
                names = fresh
            }
            guard names != session.toolNames, sessions[id] != nil else { continue }
            sessions[id]?.toolNames = names
            try? await session.server.notify(ToolListChangedNotification.message())
        }
    }

    /// Whether a JSON-RPC body is an `initialize` request (the SDK's own detector is package-internal).
    static func isInitialize(_ body: Data) -> Bool {
        guard let json = JSONValue.parse(Array(body)) else { return false }
        return json.objectValue?["method"]?.stringValue == "initialize"
    }
}

struct FixedSessionID: SessionIDGenerator {
    let id: String
    func generateSessionID() -> String { id }
}
