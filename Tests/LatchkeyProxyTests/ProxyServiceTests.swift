import Foundation
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyHTTP
import LatchkeyManifest
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

    func proxy(
        _ h: ConnectionHarness, approvals: FiledApprovals = FiledApprovals(), stats: ProxyStats? = nil, usage: UsageLedger? = nil
    ) -> ProxyService {
        ProxyService(
            store: h.store, broker: h.broker(), transport: h.provider, rateLimits: RateLimitGate(), stats: stats ?? ProxyStats(store: h.store),
            usage: usage ?? UsageLedger(store: h.store),
            metrics: LatchkeyMetrics(), reconnectLinks: NoLinks(),
            access: AccessGuard(store: h.store, clock: h.clock), approvals: approvals, clock: h.clock)
    }

    func resolver(_ h: ConnectionHarness) -> ConnectionResolver {
        ConnectionResolver(
            store: h.store, cache: ConnectionCache(clock: h.clock), consents: ConsentGate(store: h.store, clock: h.clock, publicURL: "https://lk.test"),
            choices: CredentialChoices(store: h.store, cache: ConnectionCache(clock: h.clock), audit: AuditTrail(store: h.store, logger: h.logger), clock: h.clock),
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

    /// Metering follows the credential: a call on the platform's (managed) credential draws the price from the calling
    /// agent's org, with a refund when it never reached the provider; a call on the org's own credential draws nothing.
    @Test func onlyACallOnAManagedCredentialDrawsCreditsAndItIsRefusedWhenThePoolIsEmpty() async throws {
        let h = try await ConnectionHarness(
            [.token(access: "a1", refresh: nil, expiresIn: 3600)], api: [.init(200), .init(200), .unreachable, .init(200), .init(200)],
            expiresIn: 3600, pricing: "{metered: true, credits_per_call: 2}")
        let agent = try await agentChain(h)
        _ = try await h.store.addCredits(org: "acme", amount: 4)
        let stats = ProxyStats(store: h.store)
        let ledger = UsageLedger(store: h.store)
        let proxy = proxy(h, stats: stats, usage: ledger)
        let manifest = h.catalog.manifests["acme"]!
        let own = try await h.stored()
        let managed = try await h.stored(try await h.addConnection(owner: .platform))

        _ = try await proxy.send(get("items"), manifest: manifest, stored: own, caller: .agent(agent))
        #expect(try await h.store.creditBalance(org: "acme") == 4)
        _ = try await proxy.send(get("items"), manifest: manifest, stored: managed, caller: .agent(agent))
        #expect(try await h.store.creditBalance(org: "acme") == 2)
        // A call that never reached the provider costs nothing.
        await #expect(throws: LatchkeyError.self) {
            _ = try await proxy.send(get("items"), manifest: manifest, stored: managed, caller: .agent(agent))
        }
        #expect(try await h.store.creditBalance(org: "acme") == 2)
        _ = try await proxy.send(get("items"), manifest: manifest, stored: managed, caller: .agent(agent))
        let refused = await #expect(throws: LatchkeyError.self, "a call was sent on an empty pool") {
            _ = try await proxy.send(get("items"), manifest: manifest, stored: managed, caller: .agent(agent))
        }
        #expect(refused?.code == .creditsExhausted)
        // Refused for want of credits counts in the proxy's error rate, as the unreachable call did.
        #expect(try await stats.totals(now: h.clock.now)["acme"] == OutcomeCounts(succeeded: 3, failed: 2))
        // The org's own credential still works on an empty pool; the admin's own use of the platform's key is nobody's.
        _ = try await proxy.send(get("items"), manifest: manifest, stored: own, caller: .agent(agent))
        #expect(try await h.store.creditUsage(org: "acme") == [CreditUsage(provider: "acme", agent: agent.description, calls: 2, credits: 4)])
        // The ledger saw every call that reached the provider, managed or own, before and after its flush.
        let today = DailyUsage.day(of: h.clock.now)
        let expected = [
            DailyUsage(org: "acme", day: today, provider: "acme", agent: agent.description, credentials: .managed, calls: 2, credits: 4),
            DailyUsage(org: "acme", day: today, provider: "acme", agent: agent.description, credentials: .own, calls: 2, credits: 0),
        ]
        #expect(try await ledger.usage(org: "acme", sinceDay: today) == expected)
        try await ledger.flush()
        #expect(try await h.store.usage(org: "acme", sinceDay: today) == expected)
        #expect(try await ledger.usage(org: "acme", sinceDay: today) == expected)
        let report = try await UsageReport.of(org: "acme", store: h.store, ledger: ledger, now: h.clock.now)
        #expect(report.totals.map { [$0.credentials, "\($0.calls)", "\($0.credits)"] } == [["managed", "2", "4"], ["own", "2", "0"]])
        #expect(h.provider.apiRequests.count == 5)
    }

    /// A manifest's proxy headers go on every call, in the order of their names, after the caller's; a caller's header
    /// of the same name, in any case, is sent instead of the manifest's, once.
    @Test func theManifestsHeadersGoOnEveryCallUnlessTheCallerSendsItsOwn() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], api: [.init(200)], expiresIn: 3600)
        var manifest = h.catalog.manifests["acme"]!
        manifest.proxy?.headers = ["X-Api-Version": "2", "Accept": "application/vnd.acme+json", "Notion-Version": "2022-06-28"]
        var call = get("items")
        call.headers = [OutboundHeader(name: "accept", value: "text/plain")]
        _ = try await proxy(h).send(call, manifest: manifest, stored: try await h.stored(), caller: .admin)
        let sent = try #require(h.provider.apiRequests.last).headers.filter { $0.name != "Authorization" }
        #expect(sent == [
            OutboundHeader(name: "accept", value: "text/plain"), OutboundHeader(name: "Notion-Version", value: "2022-06-28"),
            OutboundHeader(name: "X-Api-Version", value: "2"),
        ])
        #expect(manifest.proxy?.headersInOrder.map(\.name) == ["Accept", "Notion-Version", "X-Api-Version"])
    }

    @Test func anAgentWhoseChainHasNoKeyFallsBackToThePlatformsWhileItsOrgIsOnManaged() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], expiresIn: 3600)
        for ref in ["org:globex", "team:globex/ops", "project:globex/ops/desk", "agent:globex/ops/desk/bot"] {
            try await h.store.createOwner(try OwnerRef(parsing: ref), at: h.clock.now)
        }
        let bot = try OwnerRef(parsing: "agent:globex/ops/desk/bot")
        let choices = CredentialChoices(store: h.store, cache: ConnectionCache(clock: h.clock), audit: AuditTrail(store: h.store, logger: h.logger), clock: h.clock)
        // Nothing to fall back on yet.
        await #expect(throws: LatchkeyError.self) { _ = try await resolver(h).resolve(caller: .agent(bot), provider: "acme", connectionID: nil, user: nil) }
        let platformKey = try await h.addConnection(owner: .platform)
        // Globex has nothing of its own, so by default it is on the platform's key; acme keeps its own.
        #expect(try await resolver(h).resolve(caller: .agent(bot), provider: "acme", connectionID: nil, user: nil).connection.id == platformKey)
        #expect(try await resolver(h).resolve(caller: .agent(try await agentChain(h)), provider: "acme", connectionID: nil, user: nil).connection.id == h.connectionID)
        // Named, as a held call names it, it is found only while the org is on managed; a person's name never reaches it.
        #expect(try await resolver(h).resolve(caller: .agent(bot), provider: "acme", connectionID: platformKey.rawValue, user: nil).connection.id == platformKey)
        await #expect(throws: LatchkeyError.self) {
            _ = try await resolver(h).resolve(caller: .agent(bot), provider: "acme", connectionID: platformKey.rawValue, user: "globex/dana")
        }

        let chosen = try await choices.choose(
            org: try OwnerRef(parsing: "org:globex"), provider: "acme", kind: .key, credentials: .own, agentsMayChoose: false, actor: .admin)
        #expect(chosen.credentials == .own && chosen.chosen == .own && chosen.platformOffers && !chosen.orgHasOwn)
        for named in [nil, platformKey.rawValue] {
            let error = await #expect(throws: LatchkeyError.self) {
                _ = try await resolver(h).resolve(caller: .agent(bot), provider: "acme", connectionID: named, user: nil)
            }
            #expect(error?.code == .notFound)
        }
        #expect(try await h.store.events(AuditQuery(action: "org.credentials_chosen")).map(\.detail) == ["own"])
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
