import Foundation
import LatchkeyGrants
import LatchkeyModel
import Testing

/// What a set of grants allows: tools and proxy rules, methods, connections, expiry and approval.
@Suite struct GrantSetTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let github = ProviderID("github")
    static let work = ConnectionID(rawValue: "conn_work")
    static let home = ConnectionID(rawValue: "conn_home")

    static func proxy(_ methods: Set<String>, _ paths: [String]) -> Capability {
        .proxy(provider: github, methods: methods, paths: paths.map { try! PathPattern(parsing: $0) })
    }

    static func call(_ method: String, _ path: String, on connection: ConnectionID = work) -> AccessRequest {
        AccessRequest(provider: github, kind: .proxy(method: method, path: path), connection: connection)
    }

    static func tool(_ name: String, provider: ProviderID = github, on connection: ConnectionID = work) -> AccessRequest {
        AccessRequest(provider: provider, kind: .tool(name: name), connection: connection)
    }

    /// grants, request, decision
    static let table: [(String, [Grant], AccessRequest, GrantSet.Decision)] = [
        ("no grants", [], call("GET", "user"), .notGranted),
        ("a proxy rule", [Grant(capability: proxy(["GET"], ["/repos/acme/*"]))], call("GET", "repos/acme/x"), .allowed(approval: .none)),
        ("another method", [Grant(capability: proxy(["GET"], ["/repos/acme/*"]))], call("DELETE", "repos/acme/x"), .notGranted),
        ("method case", [Grant(capability: proxy(["GET"], ["/repos/acme/*"]))], call("get", "repos/acme/x"), .allowed(approval: .none)),
        ("a lookalike owner", [Grant(capability: proxy(["GET"], ["/repos/acme/*"]))], call("GET", "repos/acme-evil/x"), .notGranted),
        ("another provider", [Grant(capability: proxy(["GET"], ["/**"]))],
         AccessRequest(provider: ProviderID("slack"), kind: .proxy(method: "GET", path: "x"), connection: work), .notGranted),
        ("a tool grant", [Grant(capability: .tools(provider: github, names: ["list_issues"]))], tool("list_issues"), .allowed(approval: .none)),
        ("another tool", [Grant(capability: .tools(provider: github, names: ["list_issues"]))], tool("create_issue"), .notGranted),
        ("a tool grant is no proxy rule", [Grant(capability: .tools(provider: github, names: ["list_issues"]))], call("GET", "issues"),
         .notGranted),
        ("a proxy rule is no tool grant", [Grant(capability: proxy(["GET"], ["/**"]))], tool("list_issues"), .notGranted),
        ("the grant's connection", [Grant(capability: proxy(["GET"], ["/**"]), connection: work)], call("GET", "user"),
         .allowed(approval: .none)),
        ("another connection", [Grant(capability: proxy(["GET"], ["/**"]), connection: work)], call("GET", "user", on: home), .notGranted),
        ("before expiry", [Grant(capability: proxy(["GET"], ["/**"]), expiresAt: now.addingTimeInterval(1))], call("GET", "user"),
         .allowed(approval: .none)),
        ("at expiry", [Grant(capability: proxy(["GET"], ["/**"]), expiresAt: now)], call("GET", "user"), .notGranted),
        ("approval", [Grant(capability: proxy(["POST"], ["/repos/**"]), approval: .eachCall)], call("POST", "repos/acme/x/issues"),
         .allowed(approval: .eachCall)),
        ("a broader grant without approval wins",
         [Grant(capability: proxy(["POST"], ["/repos/**"]), approval: .eachCall), Grant(capability: proxy(["POST"], ["/repos/acme/*/issues"]))],
         call("POST", "repos/acme/x/issues"), .allowed(approval: .none)),
        ("an expired grant without approval does not",
         [Grant(capability: proxy(["POST"], ["/repos/**"]), approval: .eachCall),
          Grant(capability: proxy(["POST"], ["/repos/**"]), expiresAt: now.addingTimeInterval(-1))],
         call("POST", "repos/acme/x/issues"), .allowed(approval: .eachCall)),
    ]

    @Test(arguments: table) func decides(_ name: String, _ grants: [Grant], _ request: AccessRequest, _ expected: GrantSet.Decision) {
        #expect(GrantSet(grants).decide(request, at: Self.now) == expected, "\(name)")
    }

    @Test func aNarrowerGrantIsIncludedOnlyWithinEveryLimit() {
        let parent = GrantSet([Grant(capability: Self.proxy(["GET", "POST"], ["/repos/acme/**"]), connection: Self.work,
                                     expiresAt: Self.now.addingTimeInterval(3600))])
        let within = Grant(capability: Self.proxy(["GET"], ["/repos/acme/*/issues"]), connection: Self.work,
                           expiresAt: Self.now.addingTimeInterval(900))
        #expect(parent.includes(within, at: Self.now))
        var moreMethods = within
        moreMethods.capability = Self.proxy(["GET", "DELETE"], ["/repos/acme/*/issues"])
        var widerPath = within
        widerPath.capability = Self.proxy(["GET"], ["/repos/**"])
        var anyConnection = within
        anyConnection.connection = nil
        var outlives = within
        outlives.expiresAt = Self.now.addingTimeInterval(7200)
        var forever = within
        forever.expiresAt = nil
        for wider in [moreMethods, widerPath, anyConnection, outlives, forever] {
            #expect(!parent.includes(wider, at: Self.now))
        }
        // Once the parent expires, nothing is included any more.
        #expect(!parent.includes(within, at: Self.now.addingTimeInterval(3600)))
    }

    @Test func aKeyUnderApprovalCannotDropIt() {
        let parent = GrantSet([Grant(capability: Self.proxy(["POST"], ["/repos/**"]), approval: .eachCall)])
        #expect(!parent.includes(Grant(capability: Self.proxy(["POST"], ["/repos/acme/*"])), at: Self.now))
        #expect(parent.includes(Grant(capability: Self.proxy(["POST"], ["/repos/acme/*"]), approval: .eachCall), at: Self.now))
    }
}
