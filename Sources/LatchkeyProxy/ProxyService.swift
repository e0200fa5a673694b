import Foundation
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyObservability
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTokens

/// Carries an agent's call to a provider: resolves the connection, builds a URL that cannot leave the
/// manifest's base URL, injects the credential, draws credits, retries what may be retried, and refreshes
/// once on a 401.
public final class ProxyService: Sendable {
    let store: any ConnectionStore & CreditStore
    let broker: TokenBroker
    let transport: any HTTPTransport
    /// Holds back calls on connections whose provider said their rate limit is spent.
    let rateLimits: RateLimitGate
    /// Calls and errors per provider and hour, for the dashboard.
    let stats: ProxyStats
    /// Each org's calls per day, managed or own, for the usage report.
    let usage: UsageLedger
    let metrics: LatchkeyMetrics
    /// Hands out a link a person can use to connect a connection again, for `reauth_required` answers.
    let reconnectLinks: any ReconnectLinkSource
    /// Holds agents to their grants under their org's policy.
    let access: AccessGuard
    /// Holds calls that wait for a person's approval.
    let approvals: any ApprovalFiling
    let clock: any LatchkeyClock
    /// The base URLs, each parsed once.
    let baseURLs: BaseURLs
    /// The largest request body forwarded and response body returned.
    public static let maxBodyBytes = 10 * 1024 * 1024

    public init(
        store: any ConnectionStore & CreditStore, broker: TokenBroker, transport: any HTTPTransport, rateLimits: RateLimitGate,
        stats: ProxyStats, usage: UsageLedger, metrics: LatchkeyMetrics, reconnectLinks: any ReconnectLinkSource, access: AccessGuard,
        approvals: any ApprovalFiling, clock: any LatchkeyClock
    ) {
        self.usage = usage
        self.store = store
        self.broker = broker
        self.transport = transport
        self.rateLimits = rateLimits
        self.stats = stats
        self.metrics = metrics
        self.reconnectLinks = reconnectLinks
        self.access = access
        self.approvals = approvals
        self.clock = clock
        baseURLs = BaseURLs()
    }

    /// A call's request body.
    public enum Body: Sendable {
        case none
        /// Held in memory: the call can be retried.
        case bytes([UInt8])
        /// Streamed from the caller while it is sent: the call is sent once, never retried.
        case streamed(OutboundUpload)
    }

    /// One call to make, relative to the provider's base URL.
    public struct Call: Sendable {
        public var method: String
        public var path: String
        public var query: String?
        public var headers: [OutboundHeader]
        public var body: Body
        public var retries: RetryPolicy
        /// The path was built from a tool template, its arguments percent-encoded by Latchkey.
        public var fromTool = false
        /// A person approved this very call: a grant that asks for approval of each call lets it run.
        public var approved = false

        public init(
            method: String, path: String, query: String?, headers: [OutboundHeader], body: Body, retries: RetryPolicy, fromTool: Bool = false,
            approved: Bool = false
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
            self.retries = retries
            self.fromTool = fromTool
            self.approved = approved
        }
    }

    /// Sends `call` on `stored`'s behalf and returns the provider's whole answer (any status), within the body cap.
    public func send(_ call: Call, manifest: ProviderManifest, stored: StoredConnection, caller: Caller) async throws -> OutboundResponse {
        let response = try await stream(call, manifest: manifest, stored: stored, caller: caller)
        do {
            return try await response.collected(upTo: Self.maxBodyBytes)
        } catch let error as OutboundError {
            throw LatchkeyError(outbound: error, step: "\(manifest.id)", limit: Self.maxBodyBytes)
        }
    }

    /// Sends `call` on `stored`'s behalf and returns once the provider's head has arrived; the body streams.
    /// A connection that needs a person again fails with `reauth_required` and a reconnect link.
    public func stream(_ call: Call, manifest: ProviderManifest, stored: StoredConnection, caller: Caller) async throws
        -> OutboundStreamingResponse
    {
        let response: OutboundStreamingResponse
        do {
            response = try await streamUsable(call, manifest: manifest, stored: stored, caller: caller)
        } catch let error as LatchkeyError {
            // A call held for approval has not failed.
            if error.code != .approvalRequired { stats.record(manifest.id, at: clock.now, failed: true) }
            guard error.code == .reauthRequired else { throw error }
            throw await reconnectLinks.withReconnectLink(error, for: stored.connection, caller: caller)
        } catch {
            stats.record(manifest.id, at: clock.now, failed: true)
            throw error
        }
        stats.record(manifest.id, at: clock.now, failed: response.status >= 500)
        return response
    }

    private func streamUsable(_ call: Call, manifest: ProviderManifest, stored: StoredConnection, caller: Caller) async throws
        -> OutboundStreamingResponse
    {
        guard let proxy = manifest.proxy else {
            throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) has no proxy base URL", field: "provider")
        }
        try ConnectionResolver.requireUsable(stored.connection)
        var (connection, credential) = manifest.auth == .none
            ? (stored.connection, Credential()) : try await broker.credential(for: stored)
        // A base URL without placeholders was checked when its manifest was loaded (the loader checks every one that
        // does not start with a brace); one built from a connection's values is checked as built.
        let base: String
        if proxy.baseURL.placeholders.isEmpty, !proxy.baseURL.raw.hasPrefix("{") {
            base = proxy.baseURL.raw
        } else {
            guard let rendered = proxy.baseURL.render(connection.config), URLRules.isAllowed(rendered) else {
                throw LatchkeyError(.invalidRequest, "the base URL of \(manifest.id) cannot be built for connection \(connection.id)")
            }
            base = rendered
        }
        let target = try ProxyTarget.target(base: base, path: call.path, query: call.query, encodedByLatchkey: call.fromTool, bases: baseURLs)
        // A tool's own grant was checked by the tool runner; a direct call answers to the proxy rules, on the path the
        // guard above accepted, before anything is drawn or sent. One that needs approval is held, not sent.
        if !call.fromTool {
            let request = AccessRequest(provider: manifest.id, kind: .proxy(method: call.method, path: call.path), connection: connection.id)
            if try await access.check(request, writes: false, caller: caller) == .eachCall, !call.approved {
                let ticket = try await approvals.file(try PendingCall(call), summary: request.summary, connection: connection, caller: caller)
                throw LatchkeyError.approvalRequired(request.summary, ticket)
            }
        }

        try await rateLimits.admit(connection.id, clock: clock)
        let charge = CreditCharge.of(manifest, connection: connection, caller: caller)
        let payer = CreditCharge.payer(connection: connection, caller: caller)
        if let charge {
            guard try await store.drawCredits(org: charge.org, amount: charge.credits, provider: manifest.id, agent: caller.actorName) else {
                throw LatchkeyError(.creditsExhausted, "the credit pool of org:\(charge.org) is exhausted; an admin can add credits")
            }
            metrics.creditsUsed(provider: manifest.id, amount: charge.credits)
        }
        var bytes: [UInt8]?
        var upload: OutboundUpload?
        switch call.body {
        case .none: break
        case .bytes(let b): bytes = b
        case .streamed(let u): upload = u
        }
        // A streamed body cannot be sent twice: such a call gets no retry, not even after a 401.
        let replayable = upload == nil
        var refreshedOn401 = false
        var attempt = 0
        var waited: Duration = .zero
        while true {
            attempt += 1
            var request = OutboundRequest(
                method: call.method, url: target.url, headers: call.headers, body: bytes, connectTimeout: .seconds(5),
                totalTimeout: .seconds(30), maxResponseBytes: Self.maxBodyBytes, followRedirects: false)
            request.checkedURL = target
            for (name, value) in proxy.headersInOrder where !request.headers.contains(where: { OutboundHeader.name($0.name, sameAs: name) }) {
                request.headers.append(OutboundHeader(name: name, value: value))
            }
            if let inject = proxy.inject { try CredentialInjection.apply(inject, credential: credential, to: &request) }
            let response: OutboundStreamingResponse
            let sent = clock.now
            // When the provider's head came: the call's duration and the reading of its rate-limit headers.
            let answered: Date
            do {
                response = try await transport.stream(request, upload: upload)
                answered = clock.now
                metrics.proxyCall(provider: manifest.id, status: response.status, duration: .interval(answered.timeIntervalSince(sent)))
            } catch let error as OutboundError {
                metrics.proxyCall(provider: manifest.id, status: nil, duration: .interval(clock.now.timeIntervalSince(sent)))
                // A call that never reached the provider costs nothing.
                if let charge, error.code == .connectFailed || error.code == .invalidURL || error.code == .insecureURL {
                    try? await store.refundCredits(org: charge.org, amount: charge.credits, provider: manifest.id, agent: caller.actorName)
                }
                throw LatchkeyError(outbound: error, step: "\(manifest.id)", limit: Self.maxBodyBytes)
            }
            let head = OutboundResponse(status: response.status, headers: response.headers)
            if let until = proxy.rateLimit.flatMap({ RateLimitReading.exhaustedUntil($0, response: head, now: answered) })
                ?? RateLimitReading.retryAfterUntil(head, now: answered)
            {
                rateLimits.block(connection.id, until: until)
            }
            guard replayable else {
                recordUsage(payer, caller: caller, provider: manifest.id, connection: connection, charge: charge)
                return response
            }
            // A 401 may mean the token died early: refresh once and try again, whatever the retry setting.
            if response.status == 401, !refreshedOn401, manifest.auth.usesOAuthTokens, credential.refreshToken != nil {
                refreshedOn401 = true
                response.body.cancel()
                let latest = try await store.connection(id: connection.id) ?? stored
                // Another call may have refreshed already; then its token is the one to retry with.
                let newer = latest.connection.version > connection.version
                (connection, credential) = try await broker.credential(for: latest, force: !newer)
                continue
            }
            if let delay = call.retries.delay(
                afterAttempt: attempt, status: response.status, method: call.method, retryAfter: response.header("Retry-After"),
                waited: waited, anyMethod: proxy.retryNonIdempotent, now: clock.now)
            {
                response.body.cancel()
                waited += delay
                try await clock.sleep(for: delay)
                continue
            }
            recordUsage(payer, caller: caller, provider: manifest.id, connection: connection, charge: charge)
            return response
        }
    }

    /// Meters a call that goes to the provider some other way than through this proxy (a remote MCP server's tool
    /// call): its credits are drawn first (`credits_exhausted` when the pool is empty), `run` makes the call, and it
    /// counts in the hourly stats and the org's usage as a proxied call would. A call that gave no result (it threw)
    /// is refunded and counts as failed.
    public func metered<T: Sendable>(
        _ manifest: ProviderManifest, stored: StoredConnection, caller: Caller, _ run: () async throws -> T
    ) async throws -> T {
        let connection = stored.connection
        let charge = CreditCharge.of(manifest, connection: connection, caller: caller)
        if let charge {
            guard try await store.drawCredits(org: charge.org, amount: charge.credits, provider: manifest.id, agent: caller.actorName) else {
                throw LatchkeyError(.creditsExhausted, "the credit pool of org:\(charge.org) is exhausted; an admin can add credits")
            }
            metrics.creditsUsed(provider: manifest.id, amount: charge.credits)
        }
        do {
            let result = try await run()
            stats.record(manifest.id, at: clock.now, failed: false)
            recordUsage(
                CreditCharge.payer(connection: connection, caller: caller), caller: caller, provider: manifest.id, connection: connection,
                charge: charge)
            return result
        } catch {
            stats.record(manifest.id, at: clock.now, failed: true)
            if let charge {
                try? await store.refundCredits(org: charge.org, amount: charge.credits, provider: manifest.id, agent: caller.actorName)
            }
            throw error
        }
    }

    /// Counts a call that reached the provider against the org that uses it (none for the admin on the platform's key).
    private func recordUsage(_ org: String, caller: Caller, provider: ProviderID, connection: Connection, charge: CreditCharge?) {
        guard !org.isEmpty else { return }
        usage.record(
            org: org, agent: caller.actorName, provider: provider, credentials: connection.isManaged ? .managed : .own,
            credits: charge?.credits ?? 0, at: clock.now)
    }
}
