import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// Approvals of single calls in the store contract, on every available engine.
@Suite("Approval store contract")
struct ApprovalStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let approvalsMigration = "v13: approvals"

    func ref(_ s: String) -> OwnerRef { try! OwnerRef(parsing: s) }

    var scout: OwnerRef { ref("agent:acme/growth/crm/scout") }
    var ranger: OwnerRef { ref("agent:acme/growth/crm/ranger") }
    /// A person's connection, and the project's.
    var dana: OwnerRef { ref("user:acme/dana") }
    var crm: OwnerRef { ref("project:acme/growth/crm") }

    /// One org down to two agents.
    func seedAgents(_ store: any LatchkeyStorage) async throws {
        for owner in ["org:acme", "team:acme/growth", "project:acme/growth/crm"].map(ref) + [scout, ranger] {
            try await store.createOwner(owner, at: now)
        }
    }

    /// The time `seconds` after `now`. It is counted in seconds since 1970, as the engines store times, so a fraction
    /// reads back to the last bit (`now.addingTimeInterval` counts from 2001 and may not).
    func at(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: now.timeIntervalSince1970 + seconds) }

    /// A pending approval of a call `agent` made on `owner`'s connection, `created` seconds after `now`, open for ten
    /// minutes.
    func call(
        _ id: String, by agent: OwnerRef? = nil, on owner: OwnerRef? = nil, state: ApprovalRecord.State = .pending, created: TimeInterval = 0
    ) -> ApprovalRecord {
        ApprovalRecord(
            id: id, agent: agent ?? scout, keyHash: "scout-key", provider: "github", connection: ConnectionID(rawValue: "conn_github"),
            connectionOwner: owner ?? dana, summary: "POST github /repos/acme/x/issues", sealedCall: [1, 0, 255, 7], state: state,
            createdAt: at(created), expiresAt: at(created + 600))
    }

    /// Runs `read`, which must fail as the read of a damaged row, naming `column` when it is given.
    func expectDamaged(_ column: String?, _ read: () async throws -> Void) async {
        let error = await #expect(throws: LatchkeyError.self, "a damaged approval was read as if it were whole") { try await read() }
        #expect(error?.code == .internalError)
        if let column { #expect(error?.message.contains(column) == true, "\(column)") }
    }

    // MARK: Adding and reading

    @Test(arguments: StoreEngine.available) func anApprovalComesBackWithEveryFieldAsItWasAdded(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        // Fresh: every optional nil. Finished: every field set, each time with a long fraction.
        var fresh = call("apr_fresh")
        fresh.createdAt = at(0.123_456_789)
        fresh.expiresAt = at(600.987_654_321)
        let finished = ApprovalRecord(
            id: "apr_finished", agent: ranger, keyHash: "narrowed-key", provider: "slack", connection: ConnectionID(rawValue: "conn_slack"),
            connectionOwner: crm, summary: "slack.post_message", sealedCall: Array(0...255), state: .done, createdAt: at(-3600.5),
            expiresAt: at(-3000.25), decidedBy: "user:acme/dana", decidedAt: at(-3500.333_333_333), resultStatus: 201,
            sealedResult: [0, 0, 9], finishedAt: at(-3499.000_001))
        for approval in [fresh, finished] { try await store.addApproval(approval) }

        #expect(try await store.approval(id: "apr_fresh") == fresh)
        #expect(try await store.approval(id: "apr_finished") == finished)
        #expect(try await store.approvals(ApprovalQuery()) == [fresh, finished])
        #expect(try await store.approval(id: "apr_other") == nil)
    }

    @Test(arguments: StoreEngine.available) func anIdAlreadyUsedIsAConflictAndTheFirstApprovalStays(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let first = call("apr_1")
        try await store.addApproval(first)
        // Whoever asks, whatever for.
        let error = await #expect(throws: LatchkeyError.self) { try await store.addApproval(self.call("apr_1", by: self.ranger, created: 60)) }
        #expect(error?.code == .conflict)
        #expect(try await store.approvals(ApprovalQuery()) == [first])
    }

    @Test(arguments: StoreEngine.available) func anApprovalOfAnAgentThatDoesNotExistIsAConflict(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let stranger = ref("agent:acme/growth/crm/nobody")
        let error = await #expect(throws: LatchkeyError.self) { try await store.addApproval(self.call("apr_1", by: stranger)) }
        #expect(error?.code == .conflict)
        #expect(try await store.approval(id: "apr_1") == nil)
    }

    @Test(arguments: StoreEngine.available) func approvalsAreListedNewestFirstByEveryFilterSet(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        // Added neither in time order nor in id order; b and d were made in the same second, so d comes first.
        let approvals = [
            call("apr_b", state: .running, created: 60), call("apr_c", by: ranger, created: 0),
            call("apr_a", on: crm, state: .declined, created: 120), call("apr_d", by: ranger, on: crm, created: 60),
            call("apr_e", state: .done, created: 30),
        ]
        for approval in approvals { try await store.addApproval(approval) }

        let cases: [(ApprovalQuery, [String])] = [
            (ApprovalQuery(), ["apr_a", "apr_d", "apr_b", "apr_e", "apr_c"]),
            (ApprovalQuery(states: [.pending]), ["apr_d", "apr_c"]),
            (ApprovalQuery(states: [.running, .declined]), ["apr_a", "apr_b"]),
            (ApprovalQuery(states: []), []),
            (ApprovalQuery(agent: ranger), ["apr_d", "apr_c"]),
            (ApprovalQuery(connectionOwner: crm), ["apr_a", "apr_d"]),
            (ApprovalQuery(states: [.pending], agent: ranger, connectionOwner: crm), ["apr_d"]),
            (ApprovalQuery(agent: ref("agent:acme/growth/crm/nobody")), []),
            (ApprovalQuery(limit: 2), ["apr_a", "apr_d"]),
            (ApprovalQuery(states: [.pending, .running], connectionOwner: dana, limit: 1), ["apr_b"]),
            (ApprovalQuery(limit: 0), []),
        ]
        for (query, expected) in cases {
            #expect(try await store.approvals(query).map(\.id) == expected, "\(query)")
        }
    }

    // MARK: Deciding

    @Test(arguments: StoreEngine.available) func approvingMovesAPendingApprovalToRunningOnce(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let pending = call("apr_1")
        try await store.addApproval(pending)

        let approved = try #require(try await store.decideApproval(id: "apr_1", approve: true, by: "admin", at: at(10.5)))
        var expected = pending
        expected.state = .running
        expected.decidedBy = "admin"
        expected.decidedAt = at(10.5)
        #expect(approved == expected)
        #expect(try await store.approval(id: "apr_1") == expected)
        // Decided once: neither another approval nor a decline changes it.
        #expect(try await store.decideApproval(id: "apr_1", approve: true, by: "user:acme/dana", at: at(20)) == nil)
        #expect(try await store.decideApproval(id: "apr_1", approve: false, by: "user:acme/dana", at: at(20)) == nil)
        #expect(try await store.approval(id: "apr_1") == expected)
    }

    @Test(arguments: StoreEngine.available) func decliningMovesAPendingApprovalToDeclinedOnce(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        try await store.addApproval(call("apr_1"))

        let declined = try #require(try await store.decideApproval(id: "apr_1", approve: false, by: "user:acme/dana", at: at(10)))
        #expect(declined.state == .declined && declined.decidedBy == "user:acme/dana" && declined.decidedAt == at(10))
        #expect(try await store.approval(id: "apr_1") == declined)
        #expect(try await store.decideApproval(id: "apr_1", approve: true, by: "admin", at: at(20)) == nil)
        #expect(try await store.approval(id: "apr_1") == declined)
    }

    @Test(arguments: StoreEngine.available) func anApprovalIsNotDecidedAtOrAfterItsExpiryAndStaysPending(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        let pending = call("apr_1")
        try await store.addApproval(pending)

        for (approve, time) in [(true, pending.expiresAt), (false, pending.expiresAt), (true, at(3600))] {
            #expect(try await store.decideApproval(id: "apr_1", approve: approve, by: "admin", at: time) == nil)
        }
        #expect(try await store.approval(id: "apr_1") == pending)
        // Just before its expiry, it still can be.
        #expect(try await store.decideApproval(id: "apr_1", approve: true, by: "admin", at: at(599.5))?.state == .running)
    }

    @Test(arguments: StoreEngine.available) func anUnknownApprovalIsNotDecided(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        try await store.addApproval(call("apr_1"))
        #expect(try await store.decideApproval(id: "apr_2", approve: true, by: "admin", at: now) == nil)
        #expect(try await store.approvals(ApprovalQuery()).map(\.state) == [.pending])
    }

    @Test(arguments: StoreEngine.available) func ofTwentyConcurrentDecisionsExactlyOneWins(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        for round in 0..<5 {
            let id = "apr_\(round)"
            try await store.addApproval(call(id))
            // Decider i approves when i is even and declines when it is odd; all of them at once.
            let winners = try await withThrowingTaskGroup(of: (decider: Int, record: ApprovalRecord?).self) { group in
                for i in 0..<20 {
                    group.addTask { (i, try await store.decideApproval(id: id, approve: i.isMultiple(of: 2), by: "decider-\(i)", at: self.at(1))) }
                }
                return try await group.reduce(into: [(decider: Int, record: ApprovalRecord)]()) { winners, result in
                    if let record = result.record { winners.append((result.decider, record)) }
                }
            }
            let winner = try #require(winners.first, "round \(round)")
            #expect(winners.count == 1, "round \(round)")
            #expect(winner.record.state == (winner.decider.isMultiple(of: 2) ? .running : .declined))
            #expect(winner.record.decidedBy == "decider-\(winner.decider)")
            #expect(try await store.approval(id: id) == winner.record, "round \(round)")
        }
    }

    // MARK: Finishing

    @Test(arguments: StoreEngine.available, [true, false])
    func onlyARunningApprovalIsFinishedAndOnlyOnce(_ engine: StoreEngine, succeeded: Bool) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        for approval in [call("apr_pending"), call("apr_declined", state: .declined), call("apr_running")] {
            try await store.addApproval(approval)
        }
        _ = try #require(try await store.decideApproval(id: "apr_running", approve: true, by: "admin", at: at(5)))
        let running = try #require(try await store.approval(id: "apr_running"))

        // A call that ran with the provider's answer; one that could not run, with why.
        let status: Int? = succeeded ? 201 : nil
        #expect(try await store.finishApproval(id: "apr_running", succeeded: succeeded, status: status, sealedResult: [4, 2], at: at(6.75)))
        var finished = running
        finished.state = succeeded ? .done : .failed
        finished.resultStatus = status
        finished.sealedResult = [4, 2]
        finished.finishedAt = at(6.75)
        #expect(try await store.approval(id: "apr_running") == finished)

        // Not twice, and not from any other state; none of them changes.
        #expect(try await !store.finishApproval(id: "apr_running", succeeded: !succeeded, status: 500, sealedResult: [9], at: at(7)))
        #expect(try await store.approval(id: "apr_running") == finished)
        for id in ["apr_pending", "apr_declined", "apr_unknown"] {
            let before = try await store.approval(id: id)
            #expect(try await !store.finishApproval(id: id, succeeded: succeeded, status: 200, sealedResult: [1], at: at(7)), "\(id)")
            #expect(try await store.approval(id: id) == before, "\(id)")
        }
    }

    // MARK: Purging

    @Test(arguments: StoreEngine.available) func purgingDeletesWhatEndedBeforeTheCutoffAndKeepsTheRest(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedAgents(store)
        // Of each state, one made an hour ago and one a minute ago, each open for ten minutes and decided ten seconds
        // after it was made; the finished ones ran for five seconds.
        for (age, created) in [("old", -3600.0), ("new", -60)] {
            for state in ["done", "failed", "declined", "pending", "running"] {
                try await store.addApproval(call("\(age)-\(state)", created: created))
            }
            let decided = at(created + 10), finished = at(created + 15)
            for id in ["\(age)-done", "\(age)-failed", "\(age)-running"] {
                _ = try #require(try await store.decideApproval(id: id, approve: true, by: "admin", at: decided))
            }
            _ = try #require(try await store.decideApproval(id: "\(age)-declined", approve: false, by: "admin", at: decided))
            #expect(try await store.finishApproval(id: "\(age)-done", succeeded: true, status: 200, sealedResult: [1], at: finished))
            #expect(try await store.finishApproval(id: "\(age)-failed", succeeded: false, status: nil, sealedResult: [2], at: finished))
        }
        func remaining() async throws -> [String] { try await store.approvals(ApprovalQuery()).map(\.id).sorted() }

        // Half an hour ago, the old ones had ended: finished, declined, or expired while pending. A running one stays.
        #expect(try await store.purgeApprovals(before: at(-1800)) == 4)
        #expect(try await remaining() == ["new-declined", "new-done", "new-failed", "new-pending", "new-running", "old-running"])
        #expect(try await store.purgeApprovals(before: at(-1800)) == 0)
        // Now, the new finished and declined ones have; the new pending one expires at 540 s, not before it.
        #expect(try await store.purgeApprovals(before: now) == 3)
        #expect(try await store.purgeApprovals(before: at(540)) == 0)
        #expect(try await store.purgeApprovals(before: at(540.5)) == 1)
        #expect(try await remaining() == ["new-running", "old-running"])
    }

    // MARK: The SQL engines

    @Test(arguments: StoreEngine.sql) func theApprovalsMigrationIsApplied(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains(approvalsMigration))
    }

    /// Another program writes, in a column of either engine, text that is no state or owner reference.
    @Test(arguments: StoreEngine.sql) func anApprovalWithADamagedColumnFailsItsOwnReadOnly(_ engine: StoreEngine) async throws {
        try await expectEachDamageFailsItsOwnRead(in: try await engine.makeRawSQLStore(), [("state", "'bogus'"), ("connection_owner", "'nobody'")])
    }

    /// A table rebuilt without its NOT NULL constraints (as a hand-made restore might be) lets a row lose a value it
    /// must hold.
    @Test(arguments: StoreEngine.sql) func anApprovalMissingARequiredColumnFailsItsOwnReadOnly(_ engine: StoreEngine) async throws {
        let required = ["key_hash", "provider", "connection", "connection_owner", "summary", "sealed_call", "state", "created_at", "expires_at"]
        try await expectEachDamageFailsItsOwnRead(
            in: try await engine.makeRawSQLStore(), required.map { ($0, "NULL") },
            loosening: ["CREATE TABLE loose AS SELECT * FROM approvals", "DROP TABLE approvals", "ALTER TABLE loose RENAME TO approvals"])
    }

    /// SQLite keeps a value of any type in any column (a column's type is only a preference); PostgreSQL refuses it.
    @Test func anApprovalWhoseSQLiteColumnHoldsAnotherTypeFailsItsOwnReadOnly() async throws {
        try await expectEachDamageFailsItsOwnRead(
            in: try await StoreEngine.sqlite.makeRawSQLStore(),
            [("created_at", "'yesterday'"), ("decided_at", "'later'"), ("result_status", "'many'"), ("sealed_call", "42"), ("summary", "X'FF'")])
    }

    /// Adds an intact approval of `ranger` and, for each damage, one of `scout` (`apr_COLUMN`); runs `loosening`, then
    /// writes each damage in its own row outside the store's API. Each damaged row must fail its read naming its
    /// column, and a listing that includes one must fail; the intact one reads as it was added.
    func expectEachDamageFailsItsOwnRead(
        in store: any RawSQLStorage, _ damages: [(column: String, value: String)], loosening: [String] = []
    ) async throws {
        try await seedAgents(store)
        let intact = call("apr_intact", by: ranger)
        for approval in [intact] + damages.map({ call("apr_\($0.column)") }) { try await store.addApproval(approval) }
        try await store.executeRaw(loosening + damages.map { "UPDATE approvals SET \($0.column) = \($0.value) WHERE id = 'apr_\($0.column)'" })

        for (column, _) in damages {
            await expectDamaged(column) { _ = try await store.approval(id: "apr_\(column)") }
        }
        await expectDamaged(nil) { _ = try await store.approvals(ApprovalQuery(agent: scout)) }
        #expect(try await store.approval(id: "apr_intact") == intact)
        #expect(try await store.approvals(ApprovalQuery(agent: ranger)) == [intact])
    }
}
