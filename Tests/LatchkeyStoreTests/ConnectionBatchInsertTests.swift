import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// The batch insert that seeds benchmarks writes the rows `insert` writes, all or none.
@Suite("Connection batch insert")
struct ConnectionBatchInsertTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func connection(_ owner: String, _ provider: ProviderID, isDefault: Bool = true, at offset: TimeInterval) -> Connection {
        Connection(
            id: .random(), provider: provider, owner: try! OwnerRef(parsing: owner), state: .active,
            account: AccountIdentity(id: "1", name: nil), scopesRequested: ["a"], scopesGranted: ["a"], config: ["k": "v"],
            expiresAt: now.addingTimeInterval(3600), isDefault: isDefault, createdAt: now.addingTimeInterval(offset),
            updatedAt: now.addingTimeInterval(offset))
    }

    @Test(arguments: StoreEngine.available) func aBatchReadsBackAsSingleInsertsWould(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        // More rows than one PostgreSQL statement takes, so the batch spans several statements.
        var batch: [StoredConnection] = []
        for i in 0..<1_200 {
            let c = connection("agent:acme/t/p/a\(i % 40)", ProviderID("p\(i / 40)"), at: TimeInterval(i))
            let sealed: [UInt8]? = i % 3 == 0 ? nil : [UInt8(i % 256), 7]
            batch.append(StoredConnection(connection: c, sealedCredential: sealed))
        }
        try await store.insert(batch)
        for stored in [batch[0], batch[1], batch[641], batch[1_199]] {
            #expect(try await store.connection(id: stored.connection.id) == stored)
        }
        let found = try await store.storedConnections(owners: [try OwnerRef(parsing: "agent:acme/t/p/a1")], provider: "p0")
        #expect(found == [batch[1]])
    }

    @Test(arguments: StoreEngine.available) func aBatchWithAConflictWritesNothing(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let first = connection("org:acme", "github", at: 0)
        let second = connection("org:acme", "github", at: 1)  // a second default of the same owner and provider
        await #expect(throws: LatchkeyError.self) {
            try await store.insert([StoredConnection(connection: first, sealedCredential: nil), StoredConnection(connection: second, sealedCredential: nil)])
        }
        #expect(try await store.connection(id: first.id) == nil)
    }
}
