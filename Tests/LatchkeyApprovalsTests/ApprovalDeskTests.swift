import Foundation
import LatchkeyApprovals
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore
import Testing

/// Calls that wait for a person: held sealed and unsent, decided once, run once as their agent, and fetched by it.
@Suite struct ApprovalDeskTests {
    @Test func aCallUnderAnApprovalGrantIsHeldSealedAndNothingReachesTheProvider() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        #expect(ticket.id.hasPrefix("apr_") && ticket.id.count == 36)
        #expect(ticket.url == "https://lk.test/admin/approvals/\(ticket.id)")
        #expect(ticket.expiresAt == w.h.clock.now.addingTimeInterval(ApprovalWorld.window))
        #expect(w.h.provider.apiRequests.isEmpty)
        let stored = try #require(try await w.h.store.approval(id: ticket.id))
        #expect(stored.state == .pending && stored.agent == w.agent && stored.keyHash == ApprovalWorld.keyHash)
        #expect(stored.summary == "POST acme /items" && stored.connectionOwner == w.h.org)
        // Sealed: neither the body nor its secret is in the stored bytes.
        #expect(!String(decoding: stored.sealedCall, as: UTF8.self).contains("hunter2"))
        #expect(try await w.h.auditActions().contains("approval.requested"))
    }

    @Test func anApprovedCallRunsOnceAsItWasAskedAndTheAgentFetchesTheAnswer() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        let ended = try await w.desk.decide(ticket.id, approve: true, by: .admin)
        #expect(ended.state == .done && ended.resultStatus == 201 && ended.decidedBy == "admin")
        #expect(w.h.provider.apiRequests.map(\.method) == ["POST"])
        #expect(w.h.provider.apiRequests.first?.authorization == "Bearer a0")
        guard case .done(let view, let result) = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) else {
            Issue.record("the approval did not end")
            return
        }
        #expect(view.state == "done" && view.call == nil)
        #expect(result.objectValue?["status"] == .number(201) && result.objectValue?["body"] == .object(["id": .number(7)]))
        let again = await ApprovalWorld.refusal { _ = try await w.desk.decide(ticket.id, approve: true, by: .admin) }
        #expect(again?.code == .conflict && again?.field == "decision")
        #expect(w.h.provider.apiRequests.count == 1)
    }

    @Test func ofTwentyConcurrentDecisionsExactlyOneWinsAndTheCallRunsOnce() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for i in 0..<20 {
                group.addTask {
                    do {
                        return try await w.desk.decide(ticket.id, approve: i % 3 != 0, by: .admin).state.rawValue
                    } catch let error as LatchkeyError { return error.code.rawValue } catch { return "other" }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == "conflict" }.count == 19, "\(outcomes)")
        let winner = try #require(outcomes.first { $0 != "conflict" })
        #expect(w.h.provider.apiRequests.count == (winner == "done" ? 1 : 0))
        #expect(try await w.h.store.approval(id: ticket.id)?.state.rawValue == winner)
    }

    @Test func aDeclinedCallNeverRunsAndThePollSaysDeclined() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        #expect(try await w.desk.decide(ticket.id, approve: false, by: .admin).state == .declined)
        let polled = await ApprovalWorld.refusal { _ = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) }
        #expect(polled?.code == .approvalDeclined)
        #expect(w.h.provider.apiRequests.isEmpty)
    }

    @Test func anApprovalNobodyDecidedInTimeExpiresAndCannotBeApproved() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        w.h.clock.advance(by: .seconds(ApprovalWorld.window))
        let late = await ApprovalWorld.refusal { _ = try await w.desk.decide(ticket.id, approve: true, by: .admin) }
        #expect(late?.code == .approvalExpired)
        let polled = await ApprovalWorld.refusal { _ = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) }
        #expect(polled?.code == .approvalExpired)
        #expect(try await w.desk.approvals(for: .admin, state: "expired").map(\.id) == [ticket.id])
        #expect(try await w.desk.approvals(for: .admin, state: "pending").isEmpty)
        #expect(w.h.provider.apiRequests.isEmpty)
    }

    @Test func aWaitingPollReturnsOnceTheCallRan() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        let poll = Task { try await w.desk.poll(ticket.id, caller: w.caller, wait: .seconds(30)) }
        await w.h.clock.sleepers(atLeast: 1)
        _ = try await w.desk.decide(ticket.id, approve: true, by: .admin)
        _ = w.h.clock.advanceToNextDeadline()
        guard case .done = try await poll.value else {
            Issue.record("the poll did not see the call run")
            return
        }
        // A poll that does not wait says the call still waits.
        let other = try await w.ask()
        guard case .waiting(let view) = try await w.desk.poll(other.id, caller: w.caller, wait: .zero) else {
            Issue.record("an undecided approval ended")
            return
        }
        #expect(view.state == "pending")
    }

    @Test func onlyThePersonOfTheConnectionOrTheAdminMayDecideAndOnlyItsAgentMayFetch() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        let alice = try OwnerRef(parsing: "user:acme/alice")
        for stranger in [Caller.person(alice), w.caller] {
            let refused = await ApprovalWorld.refusal { _ = try await w.desk.decide(ticket.id, approve: true, by: stranger) }
            #expect(refused?.code == .notFound)
        }
        #expect(try await w.desk.approvals(for: .person(alice), state: nil).isEmpty)
        let ranger = try OwnerRef(parsing: "agent:acme/growth/crm/ranger")
        for stranger in [Caller.agent(ranger, keyHash: "ranger-key"), .admin, .agent(w.agent, scope: KeyScope(keyHash: "other", depth: 1, grants: [], expiresAt: .distantFuture))] {
            let refused = await ApprovalWorld.refusal { _ = try await w.desk.poll(ticket.id, caller: stranger, wait: .zero) }
            #expect(refused?.code == .notFound)
        }
        #expect(w.h.provider.apiRequests.isEmpty)
    }

    @Test func anApprovedCallWhoseKeyWasRevokedFailsWithoutReachingTheProvider() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        _ = try await w.h.store.revokeAgentKeys(agent: w.agent, at: w.h.clock.now)
        w.keys.clear()
        let ended = try await w.desk.decide(ticket.id, approve: true, by: .admin)
        #expect(ended.state == .failed && ended.resultStatus == nil)
        #expect(w.h.provider.apiRequests.isEmpty)
        #expect(try await w.h.store.approval(id: ticket.id)?.state == .failed)
        #expect(try await w.h.auditActions().contains("approval.failed"))
    }

    @Test func anApprovedCallWhoseGrantWasWithdrawnFailsWithTheRefusalTheAgentWouldHaveMet() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        try await w.h.store.replaceGrants(owner: w.agent, [], at: w.h.clock.now)
        #expect(try await w.desk.decide(ticket.id, approve: true, by: .admin).state == .failed)
        let polled = await ApprovalWorld.refusal { _ = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) }
        #expect(polled?.code == .notGranted && polled?.message.contains(ticket.id) == true)
        #expect(w.h.provider.apiRequests.isEmpty)
    }

    @Test func thePersonSeesTheCallWithSecretsHiddenWhileTheProviderGetsItAsSent() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask(#"{"name":"x","password":"hunter2","nested":{"client_secret":"s","keep":1}}"#)
        let record = try await w.desk.approval(ticket.id, for: .admin)
        let view = await w.desk.view(record, showCall: true)
        let call = try #require(view.call?.objectValue)
        #expect(call["body"] == .object(["name": .string("x"), "password": .string("[hidden]"), "nested": .object(["client_secret": .string("[hidden]"), "keep": .number(1)])]))
        #expect(call["headers"] == .object(["X-Api-Key": .string("[hidden]")]))
        #expect(call["method"] == .string("POST") && call["path"] == .string("/items"))
    }

    @Test func aGetUnderTheSameGrantsRunsAtOnce() async throws {
        let w = try await ApprovalWorld(api: [.init(200, "[]")])
        let answer = try await w.proxy.send(
            .init(method: "GET", path: "items", query: nil, headers: [], body: .none, retries: .init()), manifest: w.h.catalog.manifests["acme"]!,
            stored: try await w.h.stored(), caller: w.caller)
        #expect(answer.status == 200)
        #expect(try await w.h.store.approvals(ApprovalQuery()).isEmpty)
    }

    @Test func aToolWhoseManifestAsksApprovalWaitsEvenWhereTheOrgIsOpenAndTheAnswerIsTheToolsAnswer() async throws {
        let w = try await ApprovalWorld()
        try await w.h.store.setAccessPolicy(org: "acme", OrgAccessPolicy(readTools: .open, proxy: .open), at: w.h.clock.now)
        let listed = try await w.tools.available(to: w.caller)
        #expect(listed.map(\.name).sorted() == ["acme.archive_item", "acme.list_items"])
        #expect(listed.first { $0.tool == "archive_item" }?.approval == "each_call" && listed.first { $0.tool == "list_items" }?.approval == nil)
        let held = await ApprovalWorld.refusal {
            _ = try await w.tools.call("acme.archive_item", arguments: .object([:]), connectionID: nil, user: nil, caller: w.caller)
        }
        #expect(held?.code == .approvalRequired)
        let ticket = try #require(held?.approval)
        #expect(w.h.provider.apiRequests.isEmpty)
        // The admin is not held: the admin decides.
        _ = try await w.tools.call("acme.archive_item", arguments: .object([:]), connectionID: w.h.connectionID.rawValue, user: nil, caller: .admin)
        #expect(w.h.provider.apiRequests.count == 1)
        #expect(try await w.desk.decide(ticket.id, approve: true, by: .admin).state == .done)
        #expect(w.h.provider.apiRequests.map(\.url).last?.hasSuffix("/items/archive") == true && w.h.provider.apiRequests.count == 2)
        guard case .done(_, let result) = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) else {
            Issue.record("the approved tool call did not end")
            return
        }
        #expect(result.objectValue?["connection"] == .string(w.h.connectionID.rawValue))
    }

    @Test func anApprovalWhoseRunnerStoppedEndsFailedAndIsNeverRunAgain() async throws {
        let w = try await ApprovalWorld()
        let ticket = try await w.ask()
        // Another replica approved it and died before it recorded the answer: the store says running.
        #expect(try await w.h.store.decideApproval(id: ticket.id, approve: true, by: "admin", at: w.h.clock.now) != nil)
        guard case .waiting = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) else {
            Issue.record("a running approval ended before its runner's time was up")
            return
        }
        w.h.clock.advance(by: .seconds(ApprovalDesk.longestRun))
        let polled = await ApprovalWorld.refusal { _ = try await w.desk.poll(ticket.id, caller: w.caller, wait: .zero) }
        #expect(polled?.code == .providerUnavailable && polled?.message.contains("unknown") == true)
        #expect(try await w.desk.approval(ticket.id, for: .admin).state == .failed)
        let again = await ApprovalWorld.refusal { _ = try await w.desk.decide(ticket.id, approve: true, by: .admin) }
        #expect(again?.code == .conflict)
        #expect(w.h.provider.apiRequests.isEmpty)
        #expect(try await w.h.auditActions().filter { $0 == "approval.failed" }.count == 1)
    }

    @Test func anApprovedCallIsSentOnceEvenWhereAnUnapprovedOneWouldBeRetried() async throws {
        let w = try await ApprovalWorld(api: [.init(503), .init(200)])
        try await w.h.store.replaceGrants(owner: w.agent, [StoredGrant(provider: "acme", methods: ["PUT"], paths: ["/items"], approval: "each_call")], at: w.h.clock.now)
        let call = ProxyService.Call(method: "PUT", path: "items", query: nil, headers: [], body: .bytes(Array("{}".utf8)), retries: RetryPolicy())
        let held = await ApprovalWorld.refusal {
            _ = try await w.proxy.send(call, manifest: w.h.catalog.manifests["acme"]!, stored: try await w.h.stored(), caller: w.caller)
        }
        let ticket = try #require(held?.approval)
        let ended = try await w.desk.decide(ticket.id, approve: true, by: .admin)
        #expect(ended.state == .done && ended.resultStatus == 503)
        #expect(w.h.provider.apiRequests.map(\.method) == ["PUT"])
    }
}
