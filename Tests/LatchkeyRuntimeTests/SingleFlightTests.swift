import LatchkeyRuntime
import Synchronization
import Testing

/// Single flight: concurrent reads of one key share one read, its result and its failure.
@Suite struct SingleFlightTests {
    struct StoreDown: Error {}
    final class Counter: Sendable { let reads = Atomic(0) }

    @Test func aFailedReadFailsEveryCallerThatJoinedItAndTheNextCallReadsAgain() async throws {
        let flight = SingleFlight<String, Int>()
        let counter = Counter()
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        _ = try await flight.value(for: "k") {
                            counter.reads.add(1, ordering: .relaxed)
                            // Fails only once all ten callers share this read.
                            while flight.callers(for: "k") < 10 { await Task.yield() }
                            throw StoreDown()
                        }
                        return false
                    } catch { return true }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 10 && counter.reads.load(ordering: .relaxed) == 1)
        #expect(flight.count == 0)
        #expect(try await flight.value(for: "k") { 7 } == 7)
    }

    @Test func differentKeysReadSeparately() async throws {
        let flight = SingleFlight<String, String>()
        // Each read finishes only once both are in flight: shared by key, they would wait on each other forever.
        async let a = flight.value(for: "a") {
            while flight.count < 2 { await Task.yield() }
            return "A"
        }
        async let b = flight.value(for: "b") {
            while flight.count < 2 { await Task.yield() }
            return "B"
        }
        #expect(try await [a, b] == ["A", "B"])
    }
}
