import Foundation
import LatchkeyConnections
import LatchkeyModel
import LatchkeyStore
import Synchronization
import Testing

/// One-second caches on the hot path: calls that miss together share one store read, and a write in this process
/// is never hidden by a read that started before it.
@Suite struct CacheMissTests {
    /// A store read that takes a while and counts how often it ran.
    final class SlowRead: Sendable {
        let reads = Atomic<Int>(0)
        let delay: Duration
        init(delay: Duration = .milliseconds(200)) { self.delay = delay }

        func read() async throws -> StoredConnection {
            reads.add(1, ordering: .relaxed)
            try await Task.sleep(for: delay)
            let owner = try OwnerRef(parsing: "org:acme")
            let now = Date()
            return StoredConnection(
                connection: Connection(id: .random(), provider: "github", owner: owner, state: .active, isDefault: true, createdAt: now, updatedAt: now),
                sealedCredential: [1])
        }
    }

    let key = ConnectionCache.ResolutionKey(caller: "agent:acme/a/b/c", provider: "github", connection: nil, user: nil)

    @Test func fiftyCallsMissingTogetherReadTheStoreOnceAndGetTheSameAnswer() async throws {
        // The read is held until every caller has arrived (and a little longer, for those still on their way in); a
        // caller that comes after it finds the answer in memory (a long TTL), so only sharing keeps the count at 1.
        let cache = ConnectionCache(resolutionTTL: .seconds(600))
        let slow = SlowRead()
        let arrived = SlowRead()
        let ids = try await withThrowingTaskGroup(of: ConnectionID.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    arrived.reads.add(1, ordering: .relaxed)
                    return try await cache.resolution(key) {
                        while arrived.reads.load(ordering: .relaxed) < 50 { try await Task.sleep(for: .milliseconds(10)) }
                        return try await slow.read()
                    }.connection.id
                }
            }
            return try await group.reduce(into: Set<ConnectionID>()) { $0.insert($1) }
        }
        #expect(slow.reads.load(ordering: .relaxed) == 1)
        #expect(ids.count == 1)
    }

    @Test func aCallAfterALocalWriteDoesNotJoinAReadThatStartedBeforeIt() async throws {
        let cache = ConnectionCache()
        let slow = SlowRead(delay: .milliseconds(500))
        async let before = cache.resolution(key) { try await slow.read() }
        while slow.reads.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        cache.connectionWritten(.random())
        let after = try await cache.resolution(key) { try await slow.read() }
        let earlier = try await before
        #expect(slow.reads.load(ordering: .relaxed) == 2)
        #expect(after.connection.id != earlier.connection.id)
    }
}
