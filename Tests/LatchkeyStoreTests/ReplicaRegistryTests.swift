import Foundation
import LatchkeyStore
import Testing

/// Replicas record heartbeats and agree on the master-key version new data keys are wrapped under; on every engine.
@Suite("Replicas and the agreed master-key version")
struct ReplicaRegistryTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func heartbeat(_ id: String, _ address: String, seen: TimeInterval, keys: [Int: String] = [1: "aaaa"], wrapping: Int = 1) -> ReplicaHeartbeat {
        ReplicaHeartbeat(id: id, address: address, startedAt: now, seenAt: now.addingTimeInterval(seen), keyFingerprints: keys, wrappingVersion: wrapping)
    }

    @Test(arguments: StoreEngine.available) func aHeartbeatReplacesTheReplicasRowAndOnlyRecentOnesAreListed(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.recordHeartbeat(heartbeat("rep_b", "10.0.0.2:8080", seen: 0))
        try await store.recordHeartbeat(heartbeat("rep_a", "10.0.0.1:8080", seen: 0))
        try await store.recordHeartbeat(heartbeat("rep_a", "10.0.0.1:8080", seen: 20, keys: [1: "aaaa", 2: "bbbb"], wrapping: 2))
        let all = try await store.replicas(seenSince: now)
        #expect(all.map(\.id) == ["rep_a", "rep_b"])
        #expect(all[0] == heartbeat("rep_a", "10.0.0.1:8080", seen: 20, keys: [1: "aaaa", 2: "bbbb"], wrapping: 2))
        #expect(try await store.replicas(seenSince: now.addingTimeInterval(10)).map(\.id) == ["rep_a"])
    }

    @Test(arguments: StoreEngine.available) func aReplicaLeavesOnShutdownOrIsPrunedWhenSilent(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        for (id, seen) in [("rep_a", 0.0), ("rep_b", 100.0), ("rep_c", 200.0)] {
            try await store.recordHeartbeat(heartbeat(id, id, seen: seen))
        }
        try await store.removeReplica(id: "rep_c")
        try await store.removeReplica(id: "rep_missing")
        #expect(try await store.pruneReplicas(seenBefore: now.addingTimeInterval(50)) == 1)
        #expect(try await store.replicas(seenSince: .distantPast).map(\.id) == ["rep_b"])
    }

    @Test(arguments: StoreEngine.available) func theWrappingVersionIsSetOnceThenChangedOnlyByCompareAndSwap(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.wrappingVersion() == nil)
        #expect(try await store.setWrappingVersion(1, expected: nil, at: now))
        // A second replica starting with a higher version does not override the first one's.
        #expect(try await !store.setWrappingVersion(3, expected: nil, at: now))
        #expect(try await store.wrappingVersion() == 1)
        #expect(try await !store.setWrappingVersion(3, expected: 2, at: now))
        #expect(try await store.setWrappingVersion(2, expected: 1, at: now))
        #expect(try await store.wrappingVersion() == 2)
    }

    @Test(arguments: StoreEngine.available) func concurrentPromotionsFromOneVersionLetExactlyOneWin(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        _ = try await store.setWrappingVersion(1, expected: nil, at: now)
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for target in 2...9 { group.addTask { try await store.setWrappingVersion(target, expected: 1, at: now) } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(try await store.wrappingVersion() != 1)
    }
}
