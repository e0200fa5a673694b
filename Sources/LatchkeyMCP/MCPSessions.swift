import Foundation
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging
import MCP

/// MCP sessions over Streamable HTTP: one SDK `Server` and ``MCPSessionTransport`` per session, bound to the agent
/// (and key) that opened it, and recorded in the store so that every replica serves it.
///
/// One transport per session matters: the SDK keys waiting requests by JSON-RPC id, so sharing a transport
/// between clients that reuse ids would cross their answers. A session id presented by another agent or key is
/// unknown to it (404). A replica that gets a request of a session opened elsewhere takes it up: it starts a server
/// for the session's agent and replays the client's `initialize` into it. A session closed (DELETE) on any replica,
/// or idle for `idleTimeout`, is gone on every replica at its next request. An agent holds at most
/// `maxSessionsPerAgent`; opening one more ends its least recently used.
public actor MCPSessions {
    struct Session {
        /// The agent that opened it, with its narrowed key's scope if it used one; no other key may use the session.
        let caller: Caller
        let server: Server
        let transport: MCPSessionTransport
        var lastUsed: Date
        /// The tool names this session was last told about (at its start, or in the last `tools/list_changed`).
        var toolNames: [String]
    }
    /// Watches for changes to the agents' tools while sessions are open.
    private var watcher: Task<Void, Never>?

    /// The sessions this replica serves now, by id; the store holds every replica's.
    private var sessions: [String: Session] = [:]
    let toolServer: MCPToolServer
    let store: any MCPSessionStore
    /// Signalled when an agent's tools may have changed in this process (a connection written, grants set).
    let toolsChanged: WakeSignal
    let clock: any LatchkeyClock
    let logger: Logger
    let validation: any HTTPRequestValidationPipeline
    let idleTimeout: TimeInterval = 30 * 60
    let maxSessionsPerAgent = 64
    /// A session's last use is written to the store at most this often.
    let touchInterval: TimeInterval = 60
    /// The largest `initialize` parameters a session keeps (they are replayed on other replicas).
    static let maxInitializeBytes = 64 * 1024

    /// Sessions serving `toolServer`'s tools, kept in `store`; `publicURL` is where Latchkey is reached, for
    /// DNS-rebinding protection.
    public init(
        toolServer: MCPToolServer, store: any MCPSessionStore, toolsChanged: WakeSignal, clock: any LatchkeyClock, publicURL: String,
        logger: Logger
    ) {
        self.toolServer = toolServer
        self.store = store
        self.toolsChanged = toolsChanged
        self.clock = clock
        self.logger = logger
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
            return await continueSession(id, request, caller: caller)
        }
        guard request.method.uppercased() == "POST", let body = request.body, Self.isInitialize(body) else {
            // Includes the newer `server/discover` probe: clients fall back to `initialize` on this answer.
            return .error(statusCode: 400, .invalidRequest("Bad Request: send initialize first, or the \(HTTPHeaderName.sessionID) header"))
        }
        return await open(request, body: body, caller: caller)
    }

    /// Opens a session on `initialize`: recorded in the store before the client learns its id.
    private func open(_ request: MCP.HTTPRequest, body: Data, caller: Caller) async -> MCP.HTTPResponse {
        let parameters = JSONValue.parse(Array(body))?.objectValue?["params"] ?? .object([:])
        let initialize = parameters.serialized()
        guard parameters.objectValue != nil, initialize.count <= Self.maxInitializeBytes else {
            return .error(statusCode: 400, .invalidParams("Bad Request: initialize params must be an object of at most 64 KiB"))
        }
        makeRoom(for: caller)
        let id = RandomToken.base64URL(bytes: 24)
        guard let session = await start(id, caller: caller) else {
            return .error(statusCode: 500, .internalError("could not open an MCP session"))
        }
        let now = clock.now
        do {
            try await store.openMCPSession(
                StoredMCPSession(
                    idHash: Self.idHash(id), agent: caller.actorName, keyHash: caller.keyHash, initialize: initialize, openedAt: now,
                    lastUsed: now),
                keepingAtMost: maxSessionsPerAgent, idleBefore: now.addingTimeInterval(-idleTimeout))
        } catch {
            logger.error("could not record an MCP session", metadata: ["error": "\(error)"])
            await Self.stop(session)
            return .error(statusCode: 500, .internalError("could not open an MCP session"))
        }
        sessions[id] = session
        startWatching()
        let response = await session.transport.handle(request)
        if case .error = response {
            await forget(id)
        }
        return response
    }

    /// A request of an open session, served here whichever replica opened it.
    private func continueSession(_ id: String, _ request: MCP.HTTPRequest, caller: Caller) async -> MCP.HTTPResponse {
        let idHash = Self.idHash(id)
        let stored: StoredMCPSession?
        do {
            stored = try await store.mcpSession(idHash: idHash)
        } catch {
            logger.error("could not read an MCP session", metadata: ["error": "\(error)"])
            return .error(statusCode: 500, .internalError("could not read the MCP session"))
        }
        let now = clock.now
        guard let stored, stored.lastUsed >= now.addingTimeInterval(-idleTimeout) else {
            // Closed or expired, here or on another replica.
            if stored != nil { await forget(id) } else { await close(id) }
            return .error(statusCode: 404, .invalidRequest("Not Found: session not found or expired"))
        }
        guard stored.agent == caller.actorName, stored.keyHash == caller.keyHash else {
            return .error(statusCode: 404, .invalidRequest("Not Found: session not found or expired"))
        }
        if now.timeIntervalSince(stored.lastUsed) >= touchInterval {
            try? await store.touchMCPSession(idHash: idHash, at: now)
        }
        let session: Session
        if let here = sessions[id], here.caller == caller {
            session = here
        } else if let takenUp = await takeUp(id, stored: stored, caller: caller) {
            session = takenUp
        } else {
            return .error(statusCode: 500, .internalError("could not take the MCP session up"))
        }
        sessions[id]?.lastUsed = now
        let response = await session.transport.handle(request)
        if request.method.uppercased() == "DELETE", response.statusCode == 200 {
            await forget(id)
        }
        return response
    }

    /// Serves here a session opened on another replica (or one this replica let go): a new server for its agent, told
    /// the client's `initialize` again.
    private func takeUp(_ id: String, stored: StoredMCPSession, caller: Caller) async -> Session? {
        guard let parameters = JSONValue.parse(stored.initialize), parameters.objectValue != nil else {
            logger.error("an MCP session's initialize parameters cannot be read", metadata: ["session": "\(stored.idHash.prefix(12))"])
            return nil
        }
        makeRoom(for: caller)
        guard let session = await start(id, caller: caller) else { return nil }
        await session.transport.replayInitialize(parameters)
        // Another request of the session may have taken it up meanwhile: one server per session here.
        if let here = sessions[id] {
            await Self.stop(session)
            return here
        }
        sessions[id] = session
        startWatching()
        return session
    }

    /// A server and transport for session `id` of `caller`, started.
    private func start(_ id: String, caller: Caller) async -> Session? {
        let transport = MCPSessionTransport(sessionID: id, validation: validation)
        let server = await toolServer.makeServer(for: caller)
        do {
            try await server.start(transport: transport)
        } catch {
            await transport.disconnect()
            return nil
        }
        let names = (try? await toolServer.tools(for: caller).map(\.name)) ?? []
        return Session(caller: caller, server: server, transport: transport, lastUsed: clock.now, toolNames: names)
    }

    /// Lets the agent's least recently used session here go when it has `maxSessionsPerAgent` here (it stays in the
    /// store, and any replica takes it up again when it is used).
    private func makeRoom(for caller: Caller) {
        let mine = sessions.filter { $0.value.caller.actorName == caller.actorName }
        guard mine.count >= maxSessionsPerAgent, let oldest = mine.min(by: { $0.value.lastUsed < $1.value.lastUsed }) else { return }
        if let session = sessions.removeValue(forKey: oldest.key) {
            Task { await Self.stop(session) }
        }
    }

    /// Ends session `id` everywhere: removed from the store, and closed here.
    private func forget(_ id: String) async {
        _ = try? await store.closeMCPSession(idHash: Self.idHash(id))
        await close(id)
    }

    /// The store's key for session `id`: its SHA-256, so that the store never holds a usable session id.
    static func idHash(_ id: String) -> String { SecretHash.sha256Hex(id) }

    /// Closes session `id` here only.
    private func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await Self.stop(session)
    }

    private static func stop(_ session: Session) async {
        await session.server.stop()
        await session.transport.disconnect()
    }

    private func expireIdle() {
        let cutoff = clock.now.addingTimeInterval(-idleTimeout)
        for (id, session) in sessions where session.lastUsed < cutoff {
            sessions.removeValue(forKey: id)
            Task { await Self.stop(session) }
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

