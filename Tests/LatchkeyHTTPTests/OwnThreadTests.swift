import Dispatch
import Foundation
import Synchronization
import Testing

/// `onAThreadOfItsOwn`, which the loopback server and the certificate helper wait through: a blocked wait holds a
/// thread of its own, never one of the cooperative pool (as many threads as cores, and none added when they block).
/// Two waits on the pool once stopped the whole unit run.
@Suite struct OwnThreadTests {
    @Test func moreBlockedWaitsThanThePoolHasThreadsLeaveThePoolFree() async throws {
        // Four times as many waits as the machine has cores, each released only by a task that needs the pool: were
        // the waits on the pool, the releasing task could never run, and this test would never end (watched: with
        // `body` called in place, the run stopped here until the watchdog's limit).
        let count = ProcessInfo.processInfo.activeProcessorCount * 4
        let released = DispatchSemaphore(value: 0)
        let blocked = Counter()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<count {
                group.addTask {
                    try await onAThreadOfItsOwn {
                        blocked.value.add(1, ordering: .relaxed)
                        released.wait()
                        return i
                    }
                }
            }
            group.addTask {
                while blocked.value.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(5)) }
                for _ in 0..<count { released.signal() }
                return -1
            }
            var finished: Set<Int> = []
            for try await i in group { finished.insert(i) }
            #expect(finished == Set(-1..<count))
        }
    }

    private final class Counter: Sendable {
        let value = Atomic(0)
    }

    @Test func anErrorComesBackToTheCaller() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await onAThreadOfItsOwn { () throws -> Int in throw Refused() } }
    }
}
