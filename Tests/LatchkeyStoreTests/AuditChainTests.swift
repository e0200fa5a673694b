import Foundation
import LatchkeyModel
import LatchkeyStore
import LatchkeyStorePostgres
import Testing

/// The audit log's hash chains, one per org, on every engine: intact as written, and each kind of tampering named at
/// the first event it touches.
@Suite("Audit hash chains")
struct AuditChainTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.123457)

    func event(_ n: Int, org: String?, detail: String? = nil) throws -> AuditEvent {
        AuditEvent(
            at: now.addingTimeInterval(Double(n) * 0.001), actor: .admin, action: .appRegistered,
            owner: try org.map { try OwnerRef(parsing: "org:\($0)") }, provider: "github", outcome: "success", detail: detail ?? "n=\(n)")
    }

    /// Appends ten events: acme gets 1, 3, 5, 7, 9 (ids), globex 2, 4, 6, 8, the platform's chain 10.
    func seed(_ store: any LatchkeyStorage) async throws {
        for n in 1...9 { try await store.append(try event(n, org: n % 2 == 1 ? "acme" : "globex")) }
        try await store.append(try event(10, org: nil))
    }

    func verify(_ store: any LatchkeyStorage, org: String? = nil) async throws -> AuditChainReport {
        try await AuditChainVerifier(store: store, pageSize: 3).verify(org: org)
    }

    @Test(arguments: StoreEngine.available) func eachOrgsEventsFormOneChainThatHolds(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seed(store)
        let report = try await verify(store)
        #expect(report.ok)
        #expect(report.chains.map { [$0.org, "\($0.events)", "\($0.headSeq ?? -1)"] } == [["", "1", "1"], ["acme", "5", "5"], ["globex", "4", "4"]])
        let acme = try await store.chainedEvents(afterID: 0, chain: "acme", since: nil, limit: 100)
        #expect(acme.map(\.seq) == [1, 2, 3, 4, 5] && acme.map(\.event.id) == [1, 3, 5, 7, 9])
        #expect(acme.first?.previousHash == AuditChain.genesis)
        for (before, after) in zip(acme, acme.dropFirst()) { #expect(after.previousHash == before.hash) }
        // The hash is what the documentation says: SHA-256 over the previous hash and the canonical event.
        let first = try #require(acme.first)
        #expect(first.hash == AuditChain.hash(previous: AuditChain.genesis, chain: "acme", seq: 1, at: first.at, event: first.event))
        #expect(String(decoding: AuditChain.canonical(chain: "acme", seq: 1, at: first.at, event: first.event), as: UTF8.self)
            == "17:latchkey-audit-v14:acme1:116:18000000001244575:admin14:app.registered8:org:acme6:github~7:success3:n=1")
        #expect(try await verify(store, org: "globex").chains.map(\.org) == ["globex"])
        // Export pages by id and filters by chain and time.
        #expect(try await store.chainedEvents(afterID: 5, chain: nil, since: nil, limit: 3).map(\.event.id) == [6, 7, 8])
        #expect(try await store.chainedEvents(afterID: 0, chain: nil, since: now.addingTimeInterval(0.0085), limit: 100).map(\.event.id) == [9, 10])
    }

    @Test(arguments: StoreEngine.sql) func anEditedEventIsNamed(_ engine: StoreEngine) async throws {
        let store = try #require(try await engine.makeStore() as? any RawSQLStorage)
        try await seed(store)
        try await store.executeRaw("UPDATE audit_events SET detail = 'nothing to see' WHERE id = 5")
        let report = try await verify(store)
        let acme = try #require(report.chains.first { $0.org == "acme" })
        #expect(acme.broken?.eventID == 5 && acme.broken?.seq == 3 && acme.broken?.problem == "edited")
        #expect(!report.ok && report.chains.filter { $0.broken != nil }.count == 1)
    }

    @Test(arguments: StoreEngine.sql) func aRemovedEventIsNamedByTheEventAfterIt(_ engine: StoreEngine) async throws {
        let store = try #require(try await engine.makeStore() as? any RawSQLStorage)
        try await seed(store)
        try await store.executeRaw("DELETE FROM audit_events WHERE id = 4")
        let globex = try #require(try await verify(store).chains.first { $0.org == "globex" })
        #expect(globex.broken?.eventID == 6 && globex.broken?.problem == "removed")
    }

    @Test(arguments: StoreEngine.sql) func theLastEventRemovedIsSeenAtTheHead(_ engine: StoreEngine) async throws {
        let store = try #require(try await engine.makeStore() as? any RawSQLStorage)
        try await seed(store)
        try await store.executeRaw("DELETE FROM audit_events WHERE id = 9")
        let acme = try #require(try await verify(store).chains.first { $0.org == "acme" })
        #expect(acme.broken?.eventID == nil && acme.broken?.seq == 5 && acme.broken?.problem == "removed")
        // Moving the head back too is seen as well: the last event left does not match it... unless every hash is
        // rewritten, which only someone who can also rewrite the exported copy can hide.
        try await store.executeRaw("UPDATE audit_chain_heads SET seq = 4 WHERE chain = 'acme'")
        #expect(try await verify(store, org: "acme").chains.first?.broken?.problem == "head_mismatch")
    }

    @Test(arguments: StoreEngine.sql) func reorderedEventsAreNamed(_ engine: StoreEngine) async throws {
        let store = try #require(try await engine.makeStore() as? any RawSQLStorage)
        try await seed(store)
        // Events 3 and 5 of acme swap places in the chain.
        try await store.executeRaw(
            "UPDATE audit_events SET seq = -1 WHERE id = 3", "UPDATE audit_events SET seq = 2 WHERE id = 5",
            "UPDATE audit_events SET seq = 3 WHERE id = 3")
        // The chain's second place now holds event 5, which does not follow event 1.
        let acme = try #require(try await verify(store).chains.first { $0.org == "acme" })
        #expect(acme.broken?.eventID == 5 && acme.broken?.seq == 2 && acme.broken?.problem == "reordered")
        // Their contents swapped instead, ids and numbers left in place.
        let other = try #require(try await engine.makeStore() as? any RawSQLStorage)
        try await seed(other)
        try await other.executeRaw(
            "UPDATE audit_events SET detail = 'n=5' WHERE id = 3", "UPDATE audit_events SET detail = 'n=3' WHERE id = 5")
        let swapped = try #require(try await verify(other).chains.first { $0.org == "acme" })
        #expect(swapped.broken?.eventID == 3 && swapped.broken?.problem == "edited")
    }

    @Test(arguments: StoreEngine.sql) func anEventWrittenOutsideTheChainIsNamed(_ engine: StoreEngine) async throws {
        let store = try #require(try await engine.makeStore() as? any RawSQLStorage)
        try await seed(store)
        try await store.executeRaw(
            "INSERT INTO audit_events (at, actor, action, owner, org, outcome) VALUES (1800000001, 'admin', 'app.registered', 'org:acme', 'acme', 'success')")
        let acme = try #require(try await verify(store, org: "acme").chains.first)
        #expect(acme.broken?.eventID == 11 && acme.broken?.problem == "unchained")
        // Appending goes on after it, and the chain's own events still hold.
        try await store.append(try event(12, org: "acme"))
        #expect(try await store.chainedEvents(afterID: 11, chain: "acme", since: nil, limit: 10).map(\.seq) == [6])
    }

    @Test(arguments: StoreEngine.sql) func eventsWrittenBeforeTheChainsAreChainedOnceByTheMigration(_ engine: StoreEngine) async throws {
        let store = try #require(try await engine.makeStore() as? any RawSQLStorage)
        // The database as the release before the chains left it: v20 undone, events without chain columns.
        try await store.executeRaw(
            "DROP INDEX audit_events_chain_seq", "DROP TABLE audit_chain_heads", "ALTER TABLE audit_events DROP COLUMN chain",
            "ALTER TABLE audit_events DROP COLUMN seq", "ALTER TABLE audit_events DROP COLUMN prev_hash", "ALTER TABLE audit_events DROP COLUMN hash")
        try await store.forgetMigration("v20: the audit log's hash chains")
        for (n, org) in [(1, "acme"), (2, "globex"), (3, "acme")] {
            try await store.executeRaw(
                "INSERT INTO audit_events (at, actor, action, owner, org, provider, outcome, detail) VALUES (\(1_800_000_000 + n), 'admin', 'app.registered', 'org:\(org)', '\(org)', 'github', 'success', 'old \(n)')")
        }
        try await store.migrate()
        try await store.append(try event(4, org: "acme"))
        let report = try await verify(store)
        #expect(report.ok && report.chains.map(\.events) == [3, 1])
        #expect(try await store.chainedEvents(afterID: 0, chain: "acme", since: nil, limit: 10).map(\.seq) == [1, 2, 3])
    }

    /// Two replicas append to the same org's chain at once: the head's lock makes them take turns, and the chain
    /// never forks.
    @Test func replicasAppendingAtOnceNeverForkAChain() async throws {
        guard let url = StoreEngine.postgresURL else { return }
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let first = try await PostgresStore(url: url, schema: schema, maximumConnections: 8, logger: StoreEngine.logger)
        let second = try await PostgresStore(url: url, schema: schema, maximumConnections: 8, logger: StoreEngine.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<200 {
                let store: any LatchkeyStorage = n % 2 == 0 ? first : second
                let event = try event(n, org: n % 5 == 0 ? "globex" : "acme")
                group.addTask { try await store.append(event) }
            }
            try await group.waitForAll()
        }
        let report = try await verify(first)
        #expect(report.ok, "\(report)")
        #expect(report.chains.map { [$0.org, "\($0.events)", "\($0.headSeq ?? -1)"] } == [["acme", "160", "160"], ["globex", "40", "40"]])
    }
}
