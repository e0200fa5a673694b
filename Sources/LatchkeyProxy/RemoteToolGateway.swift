import Foundation
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRemoteMCP
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTokens
import Synchronization

/// Agents' calls to the tools of remote MCP servers: one upstream session per connection in this process, opened
/// with the connection's token and reopened when the server ends it, and each connection's tool list kept for a
/// while. A 401 refreshes the token once and tries again, as the proxy does.
///
/// While a session is open, the gateway listens on its stream from the server: a `notifications/tools/list_changed`
/// there drops the connection's tool list and signals `toolsChanged`, so agents' open MCP sessions are told.
///
/// Sessions live in the process that opened them; any replica opens its own for the same connection, so a call
/// reaches the server whichever replica takes it. The token goes only to the server's own URL, never follows a
/// redirect (the client refuses them), and is never in an answer.
public final class RemoteToolGateway: Sendable {
    let client: StreamableHTTPClient
    let broker: TokenBroker
    /// Reads a connection's latest row before a 401's refresh.
    let store: any ConnectionStore
    /// Links for a connection that needs a person again.
    let reconnectLinks: any ReconnectLinkSource
    let clock: any LatchkeyClock
    /// Signalled when a server says its tools changed.
    let toolsChanged: WakeSignal
    /// How long a connection's tool list is kept.
    let toolsTTL: TimeInterval
    /// How long one listen on a server's stream lasts before it is opened again.
    let listenSpan: Duration = .seconds(300)

    private let sessions = Mutex<[ConnectionID: RemoteMCPSession]>([:])
    private let toolLists = Mutex<[ConnectionID: (tools: [RemoteTool], at: Date)]>([:])
    /// Concurrent calls on a connection with no session yet open one; those with no tool list read one.
    private let openings = SingleFlight<ConnectionID, RemoteMCPSession>()
    private let listings = SingleFlight<ConnectionID, [RemoteTool]>()
    private let listeners = Mutex<[ConnectionID: Task<Void, Never>]>([:])
    /// Where the progress of each call waiting here goes, by the progress token sent upstream.
    private let progressRoutes = Mutex<[String: (ConnectionID, @Sendable (ToolProgress) async -> Void)]>([:])

    public init(
        client: StreamableHTTPClient, broker: TokenBroker, store: any ConnectionStore, reconnectLinks: any ReconnectLinkSource,
        clock: any LatchkeyClock, toolsChanged: WakeSignal, toolsTTL: TimeInterval = 60
    ) {
        self.store = store
        self.toolsChanged = toolsChanged
        self.client = client
        self.broker = broker
        self.reconnectLinks = reconnectLinks
        self.clock = clock
        self.toolsTTL = toolsTTL
    }

    /// The tools of the server behind `stored` that its manifest lets agents see.
    public func tools(_ manifest: ProviderManifest, on stored: StoredConnection, caller: Caller) async throws -> [RemoteTool] {
        let id = stored.connection.id
        let now = clock.now
        if let kept = toolLists.withLock({ $0[id] }), now.timeIntervalSince(kept.at) < toolsTTL { return kept.tools }
        let filter = manifest.mcp?.tools ?? .all
        return try await listings.value(for: id) {
            let tools = try await self.withSession(manifest, stored, caller) { session, token throws(RemoteMCPFailure) in
                try await self.client.tools(session, filter: filter, token: token)
            }
            self.toolLists.withLock { $0[id] = (tools, now) }
            return tools
        }
    }

    /// The tool `name` of the server behind `stored`, or `not_found` naming it.
    public func tool(_ name: String, of manifest: ProviderManifest, on stored: StoredConnection, caller: Caller) async throws -> RemoteTool {
        guard let tool = try await tools(manifest, on: stored, caller: caller).first(where: { $0.name == name }) else {
            throw LatchkeyError(.notFound, "tool: \(manifest.id) has no tool named \(name.prefix(80))", field: "tool")
        }
        return tool
    }

    /// Calls the tool and returns the server's result as it sent it. With `onProgress`, the server is asked for
    /// progress under a token of Latchkey's own (the session is shared by every agent of the connection, so an
    /// agent's token is never sent on), and each step it reports, in the answer's stream or on the session's stream,
    /// reaches `onProgress` until the result is in.
    public func call(
        _ tool: RemoteTool, arguments: JSONValue, of manifest: ProviderManifest, on stored: StoredConnection, caller: Caller,
        onProgress: (@Sendable (ToolProgress) async -> Void)? = nil
    ) async throws -> JSONValue {
        let id = stored.connection.id
        let progressToken = onProgress.map { route in
            let token = "latchkey-" + RandomToken.base64URL(bytes: 12)
            progressRoutes.withLock { $0[token] = (id, route) }
            return token
        }
        defer { if let progressToken { _ = progressRoutes.withLock { $0.removeValue(forKey: progressToken) } } }
        return try await withSession(manifest, stored, caller) { session, token throws(RemoteMCPFailure) in
            try await self.client.callTool(session, name: tool.name, arguments: arguments, token: token, progressToken: progressToken) {
                message in await self.received(message, on: id)
            }
        }
    }

    /// A message the server sent of its own: progress for a call waiting here, or word that its tools changed.
    private func received(_ message: JSONValue, on id: ConnectionID) async {
        if let (token, step) = ToolProgress.reported(in: message) {
            // Only the server the call went to reports its progress (a token is random, and also checked against the
            // connection it was sent on).
            guard let key = token.stringValue, let (connection, route) = progressRoutes.withLock({ $0[key] }), connection == id else { return }
            await route(step)
        } else if message.objectValue?["method"]?.stringValue == "notifications/tools/list_changed" {
            toolsChangedUpstream(id)
        }
    }

    /// Forgets what this process holds for a connection (its session and tool list).
    public func forget(_ id: ConnectionID) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
        _ = toolLists.withLock { $0.removeValue(forKey: id) }
        listeners.withLock { $0.removeValue(forKey: id)?.cancel() }
    }

    /// Listens on the session's stream from the server while it is the connection's session: again after each
    /// listen ends, until the server refuses it or offers none (the next session opened listens anew).
    private func listen(_ id: ConnectionID, session: RemoteMCPSession, token: String) {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let self, self.sessions.withLock({ $0[id] }) == session else { return }
                do {
                    let offered = try await self.client.listen(session, token: token, lasting: self.listenSpan) { message in
                        await self.received(message, on: id)
                    }
                    guard offered else { return }
                } catch {
                    return
                }
                try? await self.clock.sleep(for: .seconds(1))
            }
        }
        listeners.withLock { listeners in
            listeners[id]?.cancel()
            listeners[id] = task
        }
    }

    /// A server said its tools changed: its list is read again when next asked, and agents' sessions are told.
    private func toolsChangedUpstream(_ id: ConnectionID) {
        _ = toolLists.withLock { $0.removeValue(forKey: id) }
        toolsChanged.signal()
    }

    /// Runs `operation` in the connection's session: opens one when there is none, opens a new one once when the
    /// server ended it, and refreshes the token once when the server refuses it. A connection that needs a person
    /// again fails with `reauth_required` and a link `caller` may hand on.
    private func withSession<T: Sendable>(
        _ manifest: ProviderManifest, _ stored: StoredConnection, _ caller: Caller,
        _ operation: @Sendable (RemoteMCPSession, String) async throws(RemoteMCPFailure) -> T
    ) async throws -> T {
        do {
            return try await inSession(manifest, stored, operation)
        } catch let error as LatchkeyError where error.code == .reauthRequired {
            throw await reconnectLinks.withReconnectLink(error, for: stored.connection, caller: caller)
        }
    }

    /// The connection's open session, or one opened now (once for all who ask at the same time).
    private func session(_ id: ConnectionID, url: String, token: String) async throws(RemoteMCPFailure) -> RemoteMCPSession {
        if let open = sessions.withLock({ $0[id] }) { return open }
        do {
            return try await openings.value(for: id) {
                let session = try await self.client.open(url: url, token: token)
                self.sessions.withLock { $0[id] = session }
                self.listen(id, session: session, token: token)
                return session
            }
        } catch let failure as RemoteMCPFailure {
            throw failure
        } catch {
            throw .failed(LatchkeyError(.internalError, "the session with \(url.prefix(200)) could not be opened"))
        }
    }

    private func inSession<T: Sendable>(
        _ manifest: ProviderManifest, _ stored: StoredConnection,
        _ operation: @Sendable (RemoteMCPSession, String) async throws(RemoteMCPFailure) -> T
    ) async throws -> T {
        guard let url = manifest.mcp?.url else {
            throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) is not a remote MCP server", field: "provider")
        }
        let id = stored.connection.id
        var (connection, credential) = try await broker.credential(for: stored)
        var refreshed = false
        var reopened = false
        while true {
            guard let token = credential.accessToken else {
                throw LatchkeyError(.notConnected, "connection \(id) has no access token; connect it again")
            }
            do throws(RemoteMCPFailure) {
                return try await operation(try await session(id, url: url, token: token), token)
            } catch .sessionGone where !reopened {
                reopened = true
                _ = sessions.withLock { $0.removeValue(forKey: id) }
            } catch .unauthorized where !refreshed {
                refreshed = true
                _ = sessions.withLock { $0.removeValue(forKey: id) }
                // Another call may have refreshed already; then its token is the one to retry with.
                let latest = try await store.connection(id: id) ?? stored
                (connection, credential) = try await broker.credential(for: latest, force: latest.connection.version <= connection.version)
            } catch .unauthorized {
                throw LatchkeyError(.providerError, "\(manifest.name) refused the connection's token even after a refresh")
            } catch .sessionGone {
                throw LatchkeyError(.providerUnavailable, "\(manifest.name) ended the session again as soon as it was opened")
            } catch .failed(let error) {
                throw error
            }
        }
    }
}
