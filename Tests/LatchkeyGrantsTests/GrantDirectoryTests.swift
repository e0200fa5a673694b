import Foundation
import LatchkeyGrants
import LatchkeyModel
import LatchkeyStore
import Testing

/// Reading, replacing, showing and auditing grants and policies.
@Suite struct GrantDirectoryTests {
    @Test func toolsByNameAsBeforeBecomeOneToolGrantPerProvider() async throws {
        let w = try await GrantsWorld()
        let grants = try w.grants(#"{"tools":["gh.create_issue","gh.list_issues","gh.create_issue"]}"#)
        #expect(grants == [Grant(capability: .tools(provider: "gh", names: ["create_issue", "list_issues"]))])
        let stored = try await w.directory.replace(w.scout, with: grants, actor: .admin)
        #expect(w.directory.toolNames(of: stored, at: w.clock.now) == ["gh.create_issue", "gh.list_issues"])
    }

    @Test func aBadBodyIsRefusedNamingTheField() async throws {
        let w = try await GrantsWorld()
        let cases: [(String, LatchkeyError.Code, String?)] = [
            (#"{"tools":["nope.tool"]}"#, .notFound, "tool"),
            (#"{"tools":["gh.delete_everything"]}"#, .notFound, "tool"),
            (#"{"tools":"gh.create_issue"}"#, .invalidRequest, "tools"),
            (#"{"tools":[1]}"#, .invalidRequest, "tools"),
            (#"{"tools":[],"grants":[]}"#, .invalidRequest, "tools"),
            (#"{}"#, .invalidRequest, "grants"),
            (#"{"grants":[],"extra":1}"#, .invalidRequest, "extra"),
            (#"{"grants":[{"provider":"gh","tools":["create_issue"],"approval":"later"}]}"#, .invalidRequest, "grants[0].approval"),
            (#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["repos"]}]}"#, .invalidRequest, "grants[0].paths[0]"),
        ]
        for (body, code, field) in cases {
            let error = await GrantsWorld.refusal { _ = try w.grants(body) }
            #expect(error?.code == code && error?.field == field, "\(body)")
        }
    }

    @Test func replacingReplacesTheWholeListAuditsItAndWakesTheToolLists() async throws {
        let w = try await GrantsWorld()
        try await w.directory.replace(w.project, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["/a"]}]}"#), actor: .admin)
        try await w.directory.replace(w.project, with: try w.grants(#"{"grants":[{"provider":"gh","tools":["list_issues"]}]}"#), actor: .admin)
        let held = try await w.directory.grants(of: w.project)
        #expect(held == [Grant(capability: .tools(provider: "gh", names: ["list_issues"]))])
        let events = try await w.store.events(AuditQuery(ownerPrefix: w.project, limit: 10))
        #expect(events.map(\.action) == [.grantsSet, .grantsSet])
        #expect(events.first?.detail == "gh: list_issues")
        // The signal is pending: a waiter returns at once.
        await w.toolsChanged.wait(timeout: .seconds(3600), clock: w.clock)
    }

    @Test func onlyAgentsProjectsAndTeamsThatExistHoldGrants() async throws {
        let w = try await GrantsWorld()
        let org = await GrantsWorld.refusal { try await w.directory.replace(w.org, with: [], actor: .admin) }
        #expect(org?.code == .invalidRequest && org?.field == "owner")
        let ghost = await GrantsWorld.refusal {
            try await w.directory.replace(try OwnerRef(parsing: "agent:acme/growth/crm/ghost"), with: [], actor: .admin)
        }
        #expect(ghost?.code == .notFound && ghost?.field == "agent")
    }

    @Test func theDashboardAddsAndWithdrawsOneToolKeepingTheOtherGrants() async throws {
        let w = try await GrantsWorld()
        let proxyRule = try w.grants(#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["/user"]}]}"#)
        try await w.directory.replace(w.scout, with: proxyRule, actor: .admin)
        try await w.directory.grant("gh.create_issue", to: w.scout, actor: .admin)
        try await w.directory.grant("gh.list_issues", to: w.scout, actor: .admin)
        var held = try await w.directory.grants(of: w.scout)
        #expect(held == proxyRule + [Grant(capability: .tools(provider: "gh", names: ["create_issue", "list_issues"]))])
        try await w.directory.withdraw("gh.create_issue", from: w.scout, actor: .admin)
        try await w.directory.withdraw("gh.list_issues", from: w.scout, actor: .admin)
        held = try await w.directory.grants(of: w.scout)
        #expect(held == proxyRule)
    }

    @Test func aPolicyIsOpenUntilSetAndOnlyForAnOrgThatExists() async throws {
        let w = try await GrantsWorld()
        #expect(try await w.directory.policy(org: w.org) == .open)
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .open), org: w.org, actor: .admin)
        #expect(try await w.directory.policy(org: w.org) == OrgAccessPolicy(readTools: .granted, proxy: .open))
        let events = try await w.store.events(AuditQuery(ownerPrefix: w.org, action: AuditAction.orgPolicySet.rawValue, limit: 10))
        #expect(events.map(\.detail) == ["read_tools=granted,proxy=open"])
        let ghost = await GrantsWorld.refusal {
            try await w.directory.setPolicy(.open, org: try OwnerRef(parsing: "org:ghost"), actor: .admin)
        }
        #expect(ghost?.code == .notFound && ghost?.field == "org")
    }

    @Test func aStoredGrantReadsBackAsWrittenAndAMalformedOneIsAnErrorNotAWiderGrant() throws {
        let expires = Date(timeIntervalSince1970: 1_900_000_000)
        let grants = [
            Grant(capability: .tools(provider: "gh", names: ["a", "b"]), connection: ConnectionID(rawValue: "conn_x"), expiresAt: expires),
            Grant(capability: .proxy(provider: "gh", methods: ["GET", "POST"], paths: [try PathPattern(parsing: "/repos/*/x")])),
        ]
        for grant in grants { #expect(try Grant(stored: grant.stored) == grant) }
        let malformed = [
            StoredGrant(provider: "gh", tools: ["a"], methods: ["GET"], paths: ["/x"]),
            StoredGrant(provider: "gh"),
            StoredGrant(provider: "gh", methods: ["GET"], paths: ["no-slash"]),
            StoredGrant(provider: "gh", methods: ["GET"]),
            StoredGrant(provider: "gh", tools: ["a"], approval: "sometimes"),
        ]
        for row in malformed {
            #expect(throws: LatchkeyError.self) { try Grant(stored: row) }
        }
    }
}
