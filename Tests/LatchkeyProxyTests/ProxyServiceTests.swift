import Foundation
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyModel
import LatchkeyObservability
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// The proxy's choices, against the in-memory store, a provider in memory and the manual clock: which connection a
/// call uses, what it costs, what is retried, and the refresh on a 401.
@Suite struct ProxyServiceTests {
    /// Hands out no reconnect links.
    struct NoLinks: ReconnectLinkSource {
        func reconnectLink(for connection: Connection, caller: Caller) async -> (url: String, expiresAt: Date)? { nil }
    }

    func proxy(_ h: ConnectionHarness, approvals: FiledApprovals = FiledApprovals()) -> ProxyService {
        ProxyService(
            store: h.store, broker: h.broker(), transport: h.provider, rateLimits: RateLimitGate(), stats: ProxyStats(store: h.store),
            metrics: LatchkeyMetrics(), reconnectLinks: NoLinks(),
            access: AccessGuard(store: h.store, clock: h.clock), approvals: approvals, clock: h.clock)
    }

    func resolver(_ h: ConnectionHarness) -> ConnectionResolver {
        ConnectionResolver(
            store: h.store, cache: ConnectionCache(clock: h.clock), consents: ConsentGate(store: h.store, clock: h.clock, publicURL: "https://lk.test"),
            usage: ConnectionUsage(), audit: AuditTrail(store: h.store, logger: h.logger), clock: h.clock)
    }

    func get(_ path: String, method: String = "GET", retries: RetryPolicy = RetryPolicy()) -> ProxyService.Call {
        ProxyService.Call(method: method, path: path, query: nil, headers: [], body: .none, retries: retries)
    }

    func agentChain(_ h: ConnectionHarness) async throws -> OwnerRef {
        for ref in ["team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout"] {
            try await h.store.createOwner(try OwnerRef(parsing: ref), at: h.clock.now)
        }
        return try OwnerRef(parsing: "agent:acme/growth/crm/scout")
    }

    @Test func theNearestDefaultConnectionOnTheAgentsChainIsUsed() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], expiresIn: 3600)
        let agent = try await agentChain(h)
        let projects = try await h.addConnection(owner: try OwnerRef(parsing: "project:acme/growth/crm"))
        let resolver = resolver(h)
        #expect(try await resolver.resolve(caller: .agent(agent), provider: "acme", connectionID: nil, user: nil).connection.id == projects)
        // Naming a connection on the chain picks it; one off the chain is not found, never forbidden.
        #expect(
            try await resolver.resolve(caller: .agent(agent), provider: "acme", connectionID: h.connectionID.rawValue, user: nil).connection.id
                == h.connectionID)
        try await h.store.createOwner(try OwnerRef(parsing: "org:other"), at: h.clock.now)
        let foreign = try await h.addConnection(owner: try OwnerRef(parsing: "org:other"))
        await #expect(throws: LatchkeyError.self) {
            _ = try await resolver.resolve(caller: .agent(agent), provider: "acme", connectionID: foreign.rawValue, user: nil)
        }
        // An admin must name the connection.
        await #expect(throws: LatchkeyError.self) { _ = try await resolver.resolve(caller: .admin, provider: "acme", connectionID: nil, user: nil) }
    }

    @Test func aMeteredCallDrawsCreditsAndIsRefusedWhenThePoolIsEmpty() async throws {
        let h = try await ConnectionHarness(
            [.token(access: "a1", refresh: nil, expiresIn: 3600)], api: [.init(200), .unreachable, .init(200)], expiresIn: 3600,
            pricing: "{metered: true, credits_per_call: 2}")
        _ = try await h.store.addCredits(org: "acme", amount: 4)
        let proxy = proxy(h)
        let stored = try await h.stored()
        _ = try await proxy.send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: stored, caller: .admin)
        #expect(try await h.store.creditBalance(org: "acme") == 2)
        // A call that never reached the provider costs nothing.
        await #expect(throws: LatchkeyError.self) {
            _ = try await proxy.send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: stored, caller: .admin)
        }
        #expect(try await h.store.creditBalance(org: "acme") == 2)
        _ = try await proxy.send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: stored, caller: .admin)
        do {
            _ = try await proxy.send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: stored, caller: .admin)
            Issue.record("a call was sent on an empty pool")
        } catch let error as LatchkeyError {
            #expect(error.code == .creditsExhausted)
        }
        #expect(h.provider.apiRequests.count == 3)
    }

    @Test func anIdempotentCallIsRetriedAfterA503AndAPostIsNot() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], api: [.init(503), .init(200)], expiresIn: 3600)
        let proxy = proxy(h)
        let stored = try await h.stored()
        let call = Task { try await proxy.send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: stored, caller: .admin) }
        // The retry waits on the clock: move it on once the proxy sleeps.
        await h.clock.sleepers(atLeast: 1)
        h.clock.advanceToNextDeadline()
        #expect(try await call.value.status == 200)
        #expect(h.provider.apiRequests.map(\.method) == ["GET", "GET"])

        let posting = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], api: [.init(503), .init(200)], expiresIn: 3600)
        let answer = try await self.proxy(posting).send(
            get("items", method: "POST"), manifest: posting.catalog.manifests["acme"]!, stored: try await posting.stored(), caller: .admin)
        #expect(answer.status == 503)
        #expect(posting.provider.apiRequests.count == 1)
    }

    @Test func a401RefreshesTheTokenOnceAndRetriesWithTheNewOne() async throws {
        let h = try await ConnectionHarness(
            [.token(access: "a1", refresh: "r2", expiresIn: 3600)], api: [.init(401), .init(200, #"{"ok":true}"#)], expiresIn: 3600)
        let answer = try await proxy(h).send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: try await h.stored(), caller: .admin)
        #expect(answer.status == 200)
        #expect(h.provider.apiRequests.map(\.authorization) == ["Bearer a0", "Bearer a1"])
        #expect(h.provider.sentRefreshTokens == ["r1"])
        #expect(try await h.storedCredential().refreshToken == "r2")
    }

    @Test func a401ThatPersistsAfterTheRefreshIsReturnedAsItIs() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], api: [.init(401)], expiresIn: 3600)
        let answer = try await proxy(h).send(get("items"), manifest: h.catalog.manifests["acme"]!, stored: try await h.stored(), caller: .admin)
        #expect(answer.status == 401)
        #expect(h.provider.apiRequests.count == 2)
        #expect(h.provider.sentRefreshTokens.count == 1)
    }
}
