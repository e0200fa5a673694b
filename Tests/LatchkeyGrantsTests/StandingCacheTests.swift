import Foundation
import LatchkeyGrants
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyStoreMemory
import LatchkeyTestSupport
import Synchronization
import Testing

/// The access guard keeps an agent's standing for a second: a change made here holds from the next call, one made by
/// another replica within the second, and a busy agent reads the store about once a second instead of on every call.
@Suite struct StandingCacheTests {
    /// A grant store that counts the reads that reach it.
    final class CountingStore: CapabilityGrantStore {
        let base: MemoryStore
        let reads = Mutex((grants: 0, policies: 0))
        init(_ base: MemoryStore) { self.base = base }
        func replaceGrants(owner: OwnerRef, _ grants: [StoredGrant], at: Date) async throws {
            try await base.replaceGrants(owner: owner, grants, at: at)
        }
        func grants(owners: [OwnerRef]) async throws -> [OwnerRef: [StoredGrant]] {
            reads.withLock { $0.grants += 1 }
            return try await base.grants(owners: owners)
        }
        func setAccessPolicy(org: String, _ policy: OrgAccessPolicy, at: Date) async throws {
            try await base.setAccessPolicy(org: org, policy, at: at)
        }
        func accessPolicy(org: String) async throws -> OrgAccessPolicy {
            reads.withLock { $0.policies += 1 }
            return try await base.accessPolicy(org: org)
        }
    }

    let listIssues = AccessRequest(provider: "gh", kind: .tool(name: "list_issues"), connection: ConnectionID(rawValue: "conn_one"))

    @Test func aBusyAgentReadsTheStoreOnceASecond() async throws {
        let w = try await GrantsWorld()
        let counting = CountingStore(w.store)
        let access = AccessGuard(store: counting, clock: w.clock, cache: StandingCache(clock: w.clock))
        for _ in 0..<50 { _ = try await access.standing(of: w.scout) }
        #expect(counting.reads.withLock { $0 } == (1, 1))
        w.clock.advance(by: .milliseconds(1001))
        for _ in 0..<50 { _ = try await access.standing(of: w.scout) }
        #expect(counting.reads.withLock { $0 } == (2, 2))
        // Another agent is its own entry.
        _ = try await access.standing(of: w.bot)
        #expect(counting.reads.withLock { $0.grants } == 3)
    }

    @Test func aGrantRevokedHereHoldsFromTheNextCall() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(w.scout, with: try w.grants(#"{"tools":["gh.list_issues"]}"#), actor: .admin)
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .allowed(approval: .none))
        try await w.directory.replace(w.scout, with: [], actor: .admin)
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .notGranted)
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .open, proxy: .granted), org: w.org, actor: .admin)
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .allowed(approval: .none))
    }

    @Test func aGrantRevokedByAnotherReplicaHoldsWithinTheSecond() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(w.scout, with: try w.grants(#"{"tools":["gh.list_issues"]}"#), actor: .admin)
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .allowed(approval: .none))
        // Another replica writes the store directly: this process learns of it when its entry expires.
        try await w.store.replaceGrants(owner: w.scout, [], at: w.clock.now)
        w.clock.advance(by: .milliseconds(500))
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .allowed(approval: .none))
        w.clock.advance(by: .milliseconds(501))
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .notGranted)
    }

    /// A standing is kept whole per agent (one lookup, nothing decoded), but no longer than the older of the reads it
    /// was made of: here the org's policy, read for another agent 600 ms before the scout's grants.
    @Test func aKeptStandingLastsNoLongerThanTheOlderOfItsReads() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .granted, proxy: .granted), org: w.org, actor: .admin)
        _ = try await w.access.standing(of: w.bot)
        w.clock.advance(by: .milliseconds(600))
        for _ in 0..<3 { #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .notGranted) }
        // Another replica opens the org's read tools: the scout sees it once the policy read is a second old, though its
        // grants read is not.
        try await w.store.setAccessPolicy(org: w.org.org, OrgAccessPolicy(readTools: .open, proxy: .granted), at: w.clock.now)
        w.clock.advance(by: .milliseconds(399))
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .notGranted)
        w.clock.advance(by: .milliseconds(2))
        #expect(try await w.access.standing(of: w.scout).decide(listIssues, writes: false) == .allowed(approval: .none))
    }

    @Test func whileTheChangeLogIsReadAStandingIsKeptUntilGrantsOrPoliciesChange() async throws {
        let w = try await GrantsWorld()
        let counting = CountingStore(w.store)
        let watch = StoreChangeWatch()
        let cache = StandingCache(watch: watch, clock: w.clock)
        let follower = StoreChangeFollower(log: QuietChangeLog(), subscribers: [cache], watch: watch)
        let access = AccessGuard(store: counting, clock: w.clock, cache: cache)
        try await follower.poll(at: w.clock.now)
        for _ in 0..<20 {
            _ = try await access.standing(of: w.scout)
            w.clock.advance(by: .milliseconds(250))
            try await follower.poll(at: w.clock.now)
        }
        #expect(counting.reads.withLock { $0 } == (1, 1))
        // Keys and connections are not standings: nothing to forget.
        cache.storeChanged(StoreChange(seq: 1, table: .agentKeys, subject: nil, wide: true))
        _ = try await access.standing(of: w.scout)
        #expect(counting.reads.withLock { $0 } == (1, 1))
        for (seq, table) in [(2, StoreChange.Table.capabilityGrants), (3, .orgAccessPolicies)] {
            cache.storeChanged(StoreChange(seq: Int64(seq), table: table, subject: nil, wide: true))
            _ = try await access.standing(of: w.scout)
            #expect(counting.reads.withLock { $0 } == (seq, seq))
        }
        // The feed stalls: after its last read is a second old, a standing lasts a second again.
        w.clock.advance(by: .milliseconds(1001))
        _ = try await access.standing(of: w.scout)
        #expect(counting.reads.withLock { $0 } == (4, 4))
    }
}
