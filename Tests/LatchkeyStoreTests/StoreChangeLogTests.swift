import Foundation
import LatchkeyModel
import LatchkeyStore
@testable import LatchkeyStorePostgres
import LatchkeyStoreSQLite
import Testing

/// The change log that every replica's caches follow: the database itself records each committed change to a table the
/// hot path keeps, so that a write from any process reaches every follower once, in an order that never skips one.
@Suite("Store change log")
struct StoreChangeLogTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let org = try! OwnerRef(parsing: "org:acme")
    let agent = try! OwnerRef(parsing: "agent:acme/t/p/scout")

    func connection(state: ConnectionState = .active, isDefault: Bool = true) -> Connection {
        Connection(
            id: .random(), provider: "github", owner: org, state: state, account: AccountIdentity(id: "1", name: nil), scopesRequested: ["repo"],
            scopesGranted: ["repo"], config: [:], expiresAt: now.addingTimeInterval(3600), isDefault: isDefault, createdAt: now, updatedAt: now)
    }

    /// A migrated store with the change log, and the owners the changes below need.
    func makeLog(_ engine: StoreEngine) async throws -> any MigratedStorage & StoreChangeLog {
        let store = try #require(try await engine.makeMigratedStore() as? any MigratedStorage & StoreChangeLog)
        for owner in [org, try OwnerRef(parsing: "team:acme/t"), try OwnerRef(parsing: "project:acme/t/p"), agent] {
            try await store.createOwner(owner, at: now)
        }
        return store
    }

    /// Reads on from `cursor` until the log has nothing new, as a follower would.
    func drain(_ log: any StoreChangeLog, from cursor: inout StoreChangeCursor?) async throws -> [StoreChange] {
        let batch = try await log.changes(after: cursor, limit: 100)
        #expect(!batch.overflowed)
        cursor = batch.cursor
        return batch.changes
    }

    @Test(arguments: StoreEngine.sql) func aFollowerStartsNowAndSeesEachConnectionWriteOnce(_ engine: StoreEngine) async throws {
        let store = try await makeLog(engine)
        var cursor: StoreChangeCursor?
        #expect(try await drain(store, from: &cursor).isEmpty)  // the owners above were written before it began

        var c = connection()
        try await store.insert(c, sealedCredential: [1, 2, 3])
        let inserted = try await drain(store, from: &cursor)
        #expect(inserted.map(\.table) == [.connections] && inserted.map(\.subject) == [c.id.rawValue] && inserted.map(\.wide) == [true])
        #expect(try await drain(store, from: &cursor).isEmpty)

        // A refresh changes the token and expiry only: the change is the connection's own.
        c.expiresAt = now.addingTimeInterval(7200)
        #expect(try await store.update(c, sealedCredential: [4, 5, 6], expectedVersion: 0))
        let refreshed = try await drain(store, from: &cursor)
        #expect(refreshed.map(\.subject) == [c.id.rawValue] && refreshed.map(\.wide) == [false])

        // A change of state can change what other lookups pick.
        c.state = .revoked
        #expect(try await store.update(c, sealedCredential: nil, expectedVersion: 1))
        let revoked = try await drain(store, from: &cursor)
        #expect(revoked.map(\.subject) == [c.id.rawValue] && revoked.map(\.wide) == [true])
        #expect(revoked[0].seq > refreshed[0].seq && refreshed[0].seq > inserted[0].seq)
    }

    @Test(arguments: StoreEngine.sql) func everyTableTheCachesHoldIsLogged(_ engine: StoreEngine) async throws {
        let store = try await makeLog(engine)
        var cursor: StoreChangeCursor?
        _ = try await drain(store, from: &cursor)

        // What no cache can hold yet is not logged: a new owner, agent key or data key.
        try await store.createOwner(try OwnerRef(parsing: "agent:acme/t/p/other"), at: now)
        try await store.addAgentKey(hash: "k1", agent: agent, at: now)
        _ = try await store.insertDataKeyIfAbsent(WrappedDataKeyRecord(owner: org, keyVersion: 1, ciphertext: [9, 9]))
        #expect(try await drain(store, from: &cursor).isEmpty)
        // Nor are tables the caches do not hold.
        try await store.recordHeartbeat(ReplicaHeartbeat(id: "r1", address: "127.0.0.1:1", startedAt: now, seenAt: now, keyFingerprints: [:], wrappingVersion: 1))
        #expect(try await drain(store, from: &cursor).isEmpty)

        _ = try await store.revokeAgentKeys(agent: agent, at: now)
        #expect(try await drain(store, from: &cursor).map(\.table) == [.agentKeys])
        try await store.markOwnerRevoked(agent, at: now)
        #expect(try await drain(store, from: &cursor).map(\.table) == [.owners])
        try await store.replaceGrants(owner: agent, [StoredGrant(provider: "github", tools: ["list_issues"])], at: now)
        #expect(Set(try await drain(store, from: &cursor).map(\.table)) == [.capabilityGrants])
        try await store.setAccessPolicy(org: "acme", OrgAccessPolicy(readTools: .open, proxy: .granted), at: now)
        #expect(try await drain(store, from: &cursor).map(\.table) == [.orgAccessPolicies])
        // Crypto-shredding names whose key went.
        #expect(try await store.deleteDataKey(for: org))
        let shredded = try await drain(store, from: &cursor)
        #expect(shredded.map(\.table) == [.dataKeys] && shredded.map(\.subject) == ["org:acme"])
    }

    @Test(arguments: StoreEngine.sql) func aSecondProcessOnTheSameDatabaseSeesTheFirstOnesWrites(_ engine: StoreEngine) async throws {
        let (first, opened) = try await engine.makeStoresSharingOneDatabase()
        let second = try #require(opened as? any StoreChangeLog)
        var cursor: StoreChangeCursor?
        _ = try await drain(second, from: &cursor)
        let c = connection()
        try await first.insert(c, sealedCredential: nil)
        #expect(try await drain(second, from: &cursor).map(\.subject) == [c.id.rawValue])
    }

    @Test(arguments: StoreEngine.sql) func moreChangesThanOneReadTakesOverflow(_ engine: StoreEngine) async throws {
        let store = try await makeLog(engine)
        let start = try await store.changes(after: nil, limit: 3)
        for _ in 0..<4 { try await store.insert(connection(isDefault: false), sealedCredential: nil) }
        let batch = try await store.changes(after: start.cursor, limit: 3)
        #expect(batch.overflowed)
        // The next read goes on from there and finds nothing it has not passed.
        let next = try await store.changes(after: batch.cursor, limit: 3)
        #expect(!next.overflowed)
        #expect(next.changes.allSatisfy { change in !batch.changes.contains(change) })
    }

    @Test(arguments: StoreEngine.sql) func pruningKeepsRecentChangesAndDropsOldOnes(_ engine: StoreEngine) async throws {
        let store = try await makeLog(engine)
        try await store.insert(connection(), sealedCredential: nil)
        #expect(try await store.pruneChanges(olderThan: 600) == 0)
        #expect(try await store.pruneChanges(olderThan: -1) >= 1)
    }

    @Test func sqliteReportsAFollowerThatFellBehindPruningAsOverflowed() async throws {
        let store = try await makeLog(.sqlite)
        let start = try await store.changes(after: nil, limit: 10)
        try await store.insert(connection(), sealedCredential: nil)
        _ = try await store.pruneChanges(olderThan: -1)
        let batch = try await store.changes(after: start.cursor, limit: 10)
        #expect(batch.overflowed && batch.changes.isEmpty)
    }

    /// PostgreSQL numbers changes before commit: a transaction that took a lower number and commits later is still
    /// reported, once.
    @Test func postgresReportsAChangeCommittedAfterAHigherNumberedOne() async throws {
        guard StoreEngine.postgresURL != nil else { return }
        let store = try #require(try await makeLog(.postgres) as? PostgresStore)
        var cursor: StoreChangeCursor?
        _ = try await drain(store, from: &cursor)
        let (written, release) = (AsyncStream.makeStream(of: Void.self), AsyncStream.makeStream(of: Void.self))
        // The slow transaction takes its number first and holds its commit.
        let writer = Task {
            try await store.transaction { tx in
                try await tx.execute("UPDATE owners SET revoked_at = 1 WHERE ref = 'team:acme/t'")
                written.continuation.yield()
                for await _ in release.stream { break }
            }
        }
        for await _ in written.stream { break }
        try await store.markOwnerRevoked(agent, at: now)
        let fast = try await drain(store, from: &cursor)
        #expect(fast.map(\.table) == [.owners])
        release.continuation.yield()
        try await writer.value
        let slow = try await drain(store, from: &cursor)
        #expect(slow.map(\.table) == [.owners])
        #expect(slow.first.map { $0.seq < fast[0].seq } == true)
        #expect(try await drain(store, from: &cursor).isEmpty)
    }
}
