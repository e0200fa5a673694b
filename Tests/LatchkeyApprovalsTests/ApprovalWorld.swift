import Foundation
import LatchkeyApprovals
import LatchkeyConnections
import LatchkeyGrants
import LatchkeyManifest
import LatchkeyModel
import LatchkeyObservability
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// The provider `acme` in memory with a connection of `org:acme`, an agent `scout` below it whose org opens the proxy
/// only by grant, and a grant that lets it `POST /items` with approval of each call and `GET /items` at once; the
/// filer, proxy, tool runner and desk of a server, on the manual clock.
struct ApprovalWorld {
    let h: ConnectionHarness
    let agent = try! OwnerRef(parsing: "agent:acme/growth/crm/scout")
    let filer: ApprovalFiler
    let proxy: ProxyService
    let desk: ApprovalDesk
    let keys: AgentKeyCache
    let tools: ToolRunner
    /// The harness's provider with two tools: `list_items`, and `archive_item`, whose manifest asks approval of each call.
    let catalog: ProviderCatalog
    static let keyHash = "scout-key-hash"
    static let window: TimeInterval = 600

    /// The agent, as its own key authenticates it.
    var caller: Caller { .agent(agent, keyHash: Self.keyHash) }

    init(api: [FakeProvider.APIAnswer] = [.init(201, #"{"id":7}"#)]) async throws {
        h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], api: api, expiresIn: 3600)
        for ref in ["team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout"] {
            try await h.store.createOwner(try OwnerRef(parsing: ref), at: h.clock.now)
        }
        try await h.store.addAgentKey(hash: Self.keyHash, agent: agent, at: h.clock.now)
        try await h.store.setAccessPolicy(org: "acme", OrgAccessPolicy(readTools: .open, proxy: .granted), at: h.clock.now)
        try await h.store.replaceGrants(owner: agent, [
            StoredGrant(provider: "acme", methods: ["POST"], paths: ["/items"], approval: "each_call"),
            StoredGrant(provider: "acme", methods: ["GET"], paths: ["/items"]),
        ], at: h.clock.now)
        let audit = AuditTrail(store: h.store, logger: h.logger)
        let access = AccessGuard(store: h.store, clock: h.clock)
        let resolver = ConnectionResolver(
            store: h.store, cache: ConnectionCache(clock: h.clock), consents: ConsentGate(store: h.store, clock: h.clock, publicURL: "https://lk.test"),
            choices: CredentialChoices(store: h.store, cache: ConnectionCache(clock: h.clock), audit: AuditTrail(store: h.store, logger: h.logger), clock: h.clock),
            usage: ConnectionUsage(), audit: audit, clock: h.clock)
        filer = ApprovalFiler(store: h.store, vault: h.vault, audit: audit, clock: h.clock, publicURL: "https://lk.test", decisionWindow: Self.window)
        proxy = ProxyService(
            store: h.store, broker: h.broker(), transport: h.provider, rateLimits: RateLimitGate(), stats: ProxyStats(store: h.store),
            usage: UsageLedger(store: h.store), metrics: LatchkeyMetrics(), reconnectLinks: NoLinks(), access: access, approvals: filer, clock: h.clock)
        let base = try #require(h.catalog.manifests["acme"])
        var withTools = base
        withTools.tools = [
            ToolSpec(name: "list_items", description: "List.", access: .read, method: "GET", path: "/items", query: [:], body: nil,
                     bodyFormat: .json, headers: [:], input: .object(["type": .string("object")])),
            ToolSpec(name: "archive_item", description: "Archive.", access: .read, method: "POST", path: "/items/archive", query: [:], body: nil,
                     bodyFormat: .json, headers: [:], input: .object(["type": .string("object")]), approval: .eachCall),
        ]
        catalog = ProviderCatalog([withTools.id: withTools])
        tools = ToolRunner(catalog: catalog, store: h.store, resolver: resolver, proxy: proxy, access: access, approvals: filer)
        keys = AgentKeyCache(clock: h.clock)
        desk = ApprovalDesk(
            store: h.store, vault: h.vault, audit: audit, clock: h.clock, catalog: catalog, resolver: resolver, proxy: proxy, tools: tools,
            keys: keys, identities: h.store, publicURL: "https://lk.test")
    }

    /// `POST /items` with `body`, as the agent: it must be held for approval. Returns the ticket.
    func ask(_ body: String = #"{"name":"x","password":"hunter2"}"#) async throws -> ApprovalTicket {
        let call = ProxyService.Call(
            method: "POST", path: "items", query: nil, headers: [.init(name: "X-Api-Key", value: "xk-secret")], body: .bytes(Array(body.utf8)),
            retries: RetryPolicy())
        do {
            _ = try await proxy.send(call, manifest: h.catalog.manifests["acme"]!, stored: try await h.stored(), caller: caller)
        } catch let error as LatchkeyError where error.code == .approvalRequired {
            guard let ticket = error.approval else { throw error }
            return ticket
        }
        throw LatchkeyError(.internalError, "the call ran without approval")
    }

    /// The error `body` throws, if it is a `LatchkeyError`.
    static func refusal(_ body: () async throws -> Void) async -> LatchkeyError? {
        do { try await body() } catch let error as LatchkeyError { return error } catch {}
        return nil
    }

    /// Hands out no reconnect links.
    struct NoLinks: ReconnectLinkSource {
        func reconnectLink(for connection: Connection, caller: Caller) async -> (url: String, expiresAt: Date)? { nil }
    }
}
