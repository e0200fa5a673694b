import Foundation
import LatchkeyGrants
import LatchkeyModel
import LatchkeyStore
import Testing

/// What an agent may call, from its org's policy and the grants of its agent, project and team.
@Suite struct AccessGuardTests {
    let c1 = ConnectionID(rawValue: "conn_one")
    let c2 = ConnectionID(rawValue: "conn_two")

    func proxy(_ method: String, _ path: String, on connection: ConnectionID) -> AccessRequest {
        AccessRequest(provider: "gh", kind: .proxy(method: method, path: path), connection: connection)
    }

    func tool(_ name: String, on connection: ConnectionID) -> AccessRequest {
        AccessRequest(provider: "gh", kind: .tool(name: name), connection: connection)
    }

    func allowed(_ w: GrantsWorld, _ request: AccessRequest, writes: Bool = false, agent: OwnerRef? = nil) async throws -> Bool {
        try await w.access.standing(of: agent ?? w.scout).decide(request, writes: writes) == .allowed(approval: .none)
    }

    @Test func anOpenOrgLetsReadToolsAndTheProxyThroughButWriteToolsNeedAGrant() async throws {
        let w = try await GrantsWorld()
        #expect(try await allowed(w, proxy("DELETE", "repos/acme/x", on: c1)))
        #expect(try await allowed(w, tool("list_issues", on: c1)))
        #expect(try await !allowed(w, tool("create_issue", on: c1), writes: true))
        try await w.directory.replace(w.scout, with: try w.grants(#"{"tools":["gh.create_issue"]}"#), actor: .admin)
        #expect(try await allowed(w, tool("create_issue", on: c1), writes: true))
    }

    @Test func underGrantedAProxyCallNeedsAMethodAndPathThatAGrantCovers() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .open, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(
            w.scout, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/*","/user"]}]}"#), actor: .admin)
        #expect(try await allowed(w, proxy("GET", "repos/acme/x", on: c1)))
        #expect(try await allowed(w, proxy("get", "user", on: c1)))
        #expect(try await !allowed(w, proxy("POST", "repos/acme/x", on: c1)))
        #expect(try await !allowed(w, proxy("GET", "repos/acme-evil/x", on: c1)))
        #expect(try await !allowed(w, proxy("GET", "repos/acme/x/issues", on: c1)))
        #expect(try await !allowed(w, proxy("GET", "repos/ACME/x", on: c1)))
        #expect(try await !allowed(w, proxy("GET", "repos/%61cme/x", on: c1)))
        // Read tools stay open under this policy.
        #expect(try await allowed(w, tool("list_issues", on: c1)))
    }

    @Test func theRefusalNamesTheProviderMethodAndPathOrTheTool() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .granted), org: w.org, actor: .admin)
        let standing = try await w.access.standing(of: w.scout)
        let proxied = #expect(throws: LatchkeyError.self) { try standing.require(proxy("PATCH", "repos/acme/x", on: c1), writes: false) }
        #expect(proxied?.code == .notGranted && proxied?.field == "path")
        #expect(proxied?.message.contains("PATCH gh /repos/acme/x") == true)
        let read = #expect(throws: LatchkeyError.self) { try standing.require(tool("list_issues", on: c1), writes: false) }
        #expect(read?.code == .notGranted && read?.field == "tool" && read?.message.contains("gh.list_issues") == true)
        let write = #expect(throws: LatchkeyError.self) { try standing.require(tool("create_issue", on: c1), writes: true) }
        #expect(write?.code == .toolNotGranted && write?.message.contains("gh.create_issue") == true)
    }

    @Test func anAgentHoldsItsProjectsAndTeamsGrantsButNotAnotherTeams() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(w.team, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["/**"]}]}"#), actor: .admin)
        try await w.directory.replace(w.project, with: try w.grants(#"{"grants":[{"provider":"gh","tools":["list_issues"]}]}"#), actor: .admin)
        #expect(try await allowed(w, proxy("GET", "anything/at/all", on: c1)))
        #expect(try await allowed(w, tool("list_issues", on: c1)))
        #expect(try await !allowed(w, proxy("GET", "anything", on: c1), agent: w.bot))
        #expect(try await !allowed(w, tool("list_issues", on: c1), agent: w.bot))
    }

    @Test func aGrantBoundToOneConnectionCoversNoOther() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .open, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(
            w.scout, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["/**"],"connection":"conn_one"}]}"#),
            actor: .admin)
        #expect(try await allowed(w, proxy("GET", "user", on: c1)))
        #expect(try await !allowed(w, proxy("GET", "user", on: c2)))
        // Before a connection is chosen it may still be covered; on the chosen one it is not.
        let standing = try await w.access.standing(of: w.scout)
        try standing.requireOnSomeConnection("gh", .proxy(method: "GET", path: "user"), writes: false)
        #expect(throws: LatchkeyError.self) { try standing.require(proxy("GET", "user", on: c2), writes: false) }
    }

    @Test func anExpiredGrantStopsOnTheNextCallAndIsShownAsExpired() async throws {
        let w = try await GrantsWorld()
        try await w.directory.replace(
            w.scout, with: try w.grants(#"{"grants":[{"provider":"gh","tools":["create_issue"],"ttl":"2h"}]}"#), actor: .admin)
        #expect(try await allowed(w, tool("create_issue", on: c1), writes: true))
        w.clock.advance(by: .seconds(2 * 3600 - 1))
        #expect(try await allowed(w, tool("create_issue", on: c1), writes: true))
        w.clock.advance(by: .seconds(1))
        #expect(try await !allowed(w, tool("create_issue", on: c1), writes: true))
        let held = try await w.directory.grants(of: w.scout)
        #expect(held.count == 1 && held[0].view(at: w.clock.now).expired)
        #expect(w.directory.toolNames(of: held, at: w.clock.now).isEmpty)
    }

    @Test func theAdminAndPeopleAreNotHeldToGrants() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .granted), org: w.org, actor: .admin)
        #expect(try await w.access.check(proxy("DELETE", "x", on: c1), writes: false, caller: .admin) == .none)
        #expect(try await w.access.check(tool("create_issue", on: c1), writes: true, caller: .person(try OwnerRef(parsing: "user:acme/alice"))) == .none)
        await #expect(throws: LatchkeyError.self) { try await w.access.check(proxy("DELETE", "x", on: c1), writes: false, caller: .agent(w.scout)) }
    }

    @Test func aCallWaitsForApprovalWhenTheOnlyGrantThatCoversItAsksForIt() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .open, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(
            w.scout, with: try w.grants(#"""
                {"grants":[{"provider":"gh","methods":["POST"],"paths":["/repos/**"],"approval":"each_call"},
                           {"provider":"gh","methods":["GET"],"paths":["/repos/**"]}]}
                """#), actor: .admin)
        let agent = Caller.agent(w.scout)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x/issues", on: c1), writes: false, caller: agent) == .eachCall)
        #expect(try await w.access.check(proxy("GET", "repos/acme/x", on: c1), writes: false, caller: agent) == .none)
        await #expect(throws: LatchkeyError.self) { try await w.access.check(proxy("DELETE", "repos/acme/x", on: c1), writes: false, caller: agent) }
        // A grant without the condition that covers the call too lets it run at once.
        try await w.directory.replace(
            w.project, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["POST"],"paths":["/repos/acme/*/issues"]}]}"#), actor: .admin)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x/issues", on: c1), writes: false, caller: agent) == .none)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x/pulls", on: c1), writes: false, caller: agent) == .eachCall)
    }

    @Test func anApprovalGrantHoldsItsCallsEvenUnderAnOpenPolicyUnlessAnotherGrantLetsThemRunAtOnce() async throws {
        let w = try await GrantsWorld()
        let agent = Caller.agent(w.scout)
        try await w.directory.replace(
            w.scout, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["POST"],"paths":["/repos/**"],"approval":"each_call"}]}"#),
            actor: .admin)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x", on: c1), writes: false, caller: agent) == .eachCall)
        // What no grant names stays open.
        #expect(try await w.access.check(proxy("DELETE", "repos/acme/x", on: c1), writes: false, caller: agent) == .none)
        try await w.directory.replace(
            w.team, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["POST"],"paths":["/repos/acme/*"]}]}"#), actor: .admin)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x", on: c1), writes: false, caller: agent) == .none)
    }

    @Test func aNarrowedKeyThatAsksApprovalMakesTheCallWaitUnderAnOpenOrg() async throws {
        let w = try await GrantsWorld()
        let held = StoredGrant(provider: "gh", methods: ["POST"], paths: ["/repos/**"], approval: "each_call")
        let scope = KeyScope(keyHash: "k", depth: 1, grants: [held], expiresAt: w.clock.now.addingTimeInterval(600))
        let narrowed = Caller.agent(w.scout, scope: scope)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x", on: c1), writes: false, caller: narrowed) == .eachCall)
        #expect(try await w.access.check(proxy("POST", "repos/acme/x", on: c1), writes: false, caller: .agent(w.scout)) == .none)
        await #expect(throws: LatchkeyError.self) { try await w.access.check(proxy("GET", "repos/acme/x", on: c1), writes: false, caller: narrowed) }
    }
}
