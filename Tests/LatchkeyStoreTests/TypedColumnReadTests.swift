import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// SQLite keeps a value of any type in any column. The SQLite store reads every column through checked readers, so a
/// value of the wrong type (or an unexpected NULL) fails that read with an error naming the column, where GRDB's typed
/// subscript would stop the process.
@Suite struct TypedColumnReadTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A fresh SQLite store with the org `acme`, for raw SQL to damage.
    func freshStore() async throws -> (store: any RawSQLStorage, org: OwnerRef) {
        let store = try await StoreEngine.sqlite.makeRawSQLStore()
        let org = try OwnerRef(parsing: "org:acme")
        try await store.createOwner(org, at: now)
        return (store, org)
    }

    @Test(arguments: ["version", "is_default"])
    func aConnectionWhoseNumberIsNotANumberFailsTheReadNamingTheColumn(_ column: String) async throws {
        let (store, org) = try await freshStore()
        let connection = Connection(
            id: .random(), provider: "github", owner: org, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        try await store.insert(connection, sealedCredential: [1])
        try await store.executeRaw("UPDATE connections SET \(column) = 'not a number' WHERE id = '\(connection.id.rawValue)'")

        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.connection(id: connection.id) }
        #expect(error?.code == .internalError)
        #expect(error?.message.contains(column) == true)
        let listed = await #expect(throws: LatchkeyError.self) { _ = try await store.connections(owners: [org], provider: nil) }
        #expect(listed?.message.contains(column) == true)
    }

    @Test func anAppWhoseClientSecretIsNotBytesFailsTheReadNamingTheColumn() async throws {
        let (store, org) = try await freshStore()
        try await store.putApp(
            AppRegistration(provider: "github", owner: org, clientID: "app", sealedClientSecret: [1, 2, 3], scopes: ["repo"], updatedAt: now))
        try await store.executeRaw("UPDATE apps SET client_secret = 42 WHERE owner = '\(org)'")

        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.allApps(owner: org) }
        #expect(error?.code == .internalError)
        #expect(error?.message.contains("client_secret") == true)
    }

    /// Taking a lease reads the fence of the last one inside the write; a damaged fence fails that write, and the
    /// read of a held lease too.
    @Test func aRefreshLeaseWhoseFenceIsNotANumberFailsTheReadNamingTheColumn() async throws {
        let (store, _) = try await freshStore()
        let id = ConnectionID.random()
        let lease = try #require(try await store.acquireRefreshLease(id, holder: "replica-a", now: now, ttl: 60))
        try await store.releaseRefreshLease(lease, keepOthersOutUntil: now.addingTimeInterval(30))
        try await store.executeRaw("UPDATE refresh_leases SET fence = 'not a number' WHERE connection_id = '\(id.rawValue)'")

        let read = await #expect(throws: LatchkeyError.self) { _ = try await store.refreshLease(id) }
        #expect(read?.message.contains("fence") == true)
        let taken = await #expect(throws: LatchkeyError.self) {
            _ = try await store.acquireRefreshLease(id, holder: "replica-b", now: now.addingTimeInterval(60), ttl: 60)
        }
        #expect(taken?.message.contains("fence") == true)
    }

    @Test func aProxyCountThatIsNotANumberFailsTheReadNamingTheColumn() async throws {
        let (store, _) = try await freshStore()
        try await store.addProxyCounts([ProxyHourCounts(provider: "github", hour: 500_000, succeeded: 3, failed: 1)])
        try await store.executeRaw("UPDATE proxy_call_counts SET failed = 'not a number'")

        let error = await #expect(throws: LatchkeyError.self) { _ = try await store.proxyCounts(fromHour: 0, provider: nil) }
        #expect(error?.message.contains("failed") == true)
    }
}
