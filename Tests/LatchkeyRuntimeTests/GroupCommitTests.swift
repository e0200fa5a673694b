import LatchkeyRuntime
import Synchronization
import Testing

/// Group commit: writes that arrive during a commit share the next one, and every caller gets its own result.
@Suite struct GroupCommitTests {
    /// A commit that records the batches it was given and, while `held`, waits until the test lets it go.
    final class GatedStore: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let held = Mutex(true)

        func commit(_ items: [Int]) async throws -> [Int] {
            batches.withLock { $0.append(items) }
            if held.withLock({ $0 }) {
                await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } }
            }
            return items.map { $0 * 10 }
        }

        /// Waits until a commit is held at the gate, then lets it (and every later commit) through.
        func release() async {
            while gate.withLock({ $0 == nil }) { await Task.yield() }
            held.withLock { $0 = false }
            gate.withLock { $0 }?.resume()
        }
    }

    @Test func writesArrivingDuringACommitShareTheNextOneAndEachGetsItsOwnResult() async throws {
        let store = GatedStore()
        let group = GroupCommit<Int, Int> { try await store.commit($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                let result = try await group.submit(0)
                #expect(result == 0)
            }
            // The first write's commit is held; the other 199 queue behind it.
            while store.batches.withLock({ $0.isEmpty }) { await Task.yield() }
            for i in 1..<200 {
                tasks.addTask {
                    let result = try await group.submit(i)
                    #expect(result == i * 10)
                }
            }
            while await group.waiting < 199 { await Task.yield() }
            await store.release()
            try await tasks.waitForAll()
        }
        // Tasks start in no set order, so the second batch holds the 199 writes in the order they queued.
        #expect(store.batches.withLock { $0 }.map { $0.sorted() } == [[0], Array(1..<200)])
    }

    @Test func aLoneWriteCommitsAtOnceByItself() async throws {
        let store = GatedStore()
        store.held.withLock { $0 = false }
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
        let store = GatedStore()
        let group = GroupCommit<Int, Int>(maxBatch: 8) { try await store.commit($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { _ = try await group.submit(0) }
            while store.batches.withLock({ $0.isEmpty }) { await Task.yield() }
            for i in 1..<100 { tasks.addTask { _ = try await group.submit(i) } }
            while await group.waiting < 99 { await Task.yield() }
            await store.release()
            try await tasks.waitForAll()
        }
        let batches = store.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<100))
        // One lone first write, then the 99 queued behind it in batches of at most 8: 1 + ceil(99 / 8).
        #expect(batches.count == 1 + 13)
        #expect(batches.allSatisfy { $0.count <= 8 })
    }
}
