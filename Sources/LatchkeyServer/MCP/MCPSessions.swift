import Foundation
import LatchkeyModel
import Logging
import MCP

/// MCP sessions over Streamable HTTP: one SDK `Server` and `StatefulHTTPServerTransport` per session, bound to
/// the agent that opened it.
///
/// One transport per session matters: the SDK keys waiting requests by JSON-RPC id, so sharing a transport
/// between clients that reuse ids would cross their answers. A session id presented by another agent is
/// unknown to it (404). Idle sessions close after `idleTimeout`; an agent holds at most `maxSessionsPerAgent`.
actor MCPSessions {
    struct Session {
        let agent: OwnerRef
        let server: Server
        let transport: StatefulHTTPServerTransport
        var lastUsed: Date
    }

    private var sessions: [String: Session] = [:]
    let services: LatchkeyServices
    let broker: TokenBroker
    let validation: any HTTPRequestValidationPipeline
    let idleTimeout: TimeInterval = 30 * 60
    let maxSessionsPerAgent = 64

    init(services: LatchkeyServices, broker: TokenBroker) {
        self.services = services
        self.broker = broker
        // DNS-rebinding protection keyed to where Latchkey is really reached, not just localhost.
        var hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        var origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
        if let origin = Origin.of(services.settings.publicURL) {
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

    /// Routes one HTTP request of `agent` to its session, opening a session on `initialize`.
    func handle(_ request: MCP.HTTPRequest, agent: OwnerRef) async -> MCP.HTTPResponse {
        expireIdle()
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id], session.agent == agent else {
                return .error(statusCode: 404, .invalidRequest("Not Found: session not found or expired"))
            }
            session.lastUsed = services.now()
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
        let mine = sessions.filter { $0.value.agent == agent }
        if mine.count >= maxSessionsPerAgent, let oldest = mine.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            await close(oldest.key)
        }
        let id = RandomToken.base64URL(bytes: 24)
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(id: id), validationPipeline: validation)
        let server = await MCPToolServer(services: services, broker: broker, agent: agent).makeServer()
        do {
            try await server.start(transport: transport)
        } catch {
            await transport.disconnect()
            return .error(statusCode: 500, .internalError("could not open an MCP session"))
        }
        sessions[id] = Session(agent: agent, server: server, transport: transport, lastUsed: services.now())
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
        let cutoff = services.now().addingTimeInterval(-idleTimeout)
        for (id, session) in sessions where session.lastUsed < cutoff {
            sessions.removeValue(forKey: id)
            Task {
                await session.server.stop()
                await session.transport.disconnect()
            }
        }
    }

    /// Closes every session (at shutdown).
    func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
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
