import Synchronization
import Testing

@testable import LatchkeyServer

/// Group commit: writes that arrive during a commit share the next one, and every caller gets its own result.
@Suite struct GroupCommitTests {
    /// A commit that takes a while and records the batches it was given.
    final class SlowStore: Sendable {
        let batches = Mutex<[[Int]]>([])
        func commit(_ items: [Int]) async throws -> [Int] {
            batches.withLock { $0.append(items) }
            try await Task.sleep(for: .milliseconds(20))
            return items.map { $0 * 10 }
        }
    }

    @Test func concurrentWritesShareCommitsAndEachGetsItsOwnResult() async throws {
        let store = SlowStore()
        let group = GroupCommit<Int, Int> { try await store.commit($0) }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { tasks in
            for i in 0..<200 { tasks.addTask { (i, try await group.submit(i)) } }
            return try await tasks.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 200 && results.allSatisfy { $0.value == $0.key * 10 })
        let batches = store.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<200))
        // 200 writes during 20 ms commits: far fewer commits than writes.
        #expect(batches.count < 50)
    }

    @Test func aLoneWriteCommitsAtOnceByItself() async throws {
        let store = SlowStore()
        let group = GroupCommit<Int, Int> { try await store.commit($0) }
        #expect(try await group.submit(7) == 70)
        #expect(try await group.submit(8) == 80)
        #expect(store.batches.withLock { $0 } == [[7], [8]])
    }

    @Test func aFailedCommitFailsEveryWriteInItAndTheNextCommitGoesOn() async throws {
        struct Refused: Error {}
        let calls = Mutex(0)
        let group = GroupCommit<Int, Int> { items in
            let n = calls.withLock { $0 += 1; return $0 }
            if n == 1 { throw Refused() }
            return items
        }
        await #expect(throws: Refused.self) { try await group.submit(1) }
        #expect(try await group.submit(2) == 2)
    }

    @Test func aCommitThatLosesResultsFailsInsteadOfLeavingCallersWaiting() async throws {
        let group = GroupCommit<Int, Int> { _ in [] }
        await #expect(throws: GroupCommitError.self) { try await group.submit(1) }
    }

    @Test func batchesAreCappedAtTheirMaximum() async throws {
        let store = SlowStore()
        let group = GroupCommit<Int, Int>(maxBatch: 8) { try await store.commit($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for i in 0..<100 { tasks.addTask { _ = try await group.submit(i) } }
            try await tasks.waitForAll()
        }
        #expect(store.batches.withLock { $0 }.allSatisfy { $0.count <= 8 })
    }
}
