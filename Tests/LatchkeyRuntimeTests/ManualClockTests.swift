import Foundation
import LatchkeyRuntime
import Testing

/// The manual clock: time moves only when a test advances it, and sleepers wake in deadline order.
@Suite struct ManualClockTests {
    @Test func aSleeperWakesOnlyWhenTheClockReachesItsDeadline() async throws {
        let clock = ManualClock()
        let start = clock.now
        let sleeper = Task { try await clock.sleep(for: .seconds(10)) }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(9))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(clock.sleeperCount == 0)
        #expect(clock.now == start.addingTimeInterval(10))
    }

    @Test func aSleepOfNothingReturnsAtOnce() async throws {
        let clock = ManualClock()
        try await clock.sleep(for: .zero)
        try await clock.sleep(for: .seconds(-1))
        #expect(clock.sleeperCount == 0)
    }

    @Test func cancellingASleeperEndsItsSleepWithCancellation() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(60)) }
        await clock.sleepers(atLeast: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func advancingToTheNextDeadlineWakesTheEarliestSleeperOnly() async throws {
        let clock = ManualClock()
        let start = clock.now
        let late = Task { try await clock.sleep(for: .seconds(30)) }
        let early = Task { try await clock.sleep(for: .seconds(2)) }
        await clock.sleepers(atLeast: 2)
        #expect(clock.advanceToNextDeadline())
        try await early.value
        #expect(clock.now == start.addingTimeInterval(2))
        #expect(clock.sleeperCount == 1)
        late.cancel()
        _ = try? await late.value
        #expect(!clock.advanceToNextDeadline())
    }
}

/// The wake signal: a background loop sleeps until signalled or until its timeout on the injected clock.
@Suite struct WakeSignalTests {
    @Test func aSignalBeforeTheWaitEndsItAtOnce() async {
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        await signal.wait(timeout: .seconds(3600), clock: ManualClock())
    }

    @Test func aWaitEndsWhenSignalledWhileWaiting() async {
        let signal = WakeSignal()
        let clock = ManualClock()
        let waiter = Task { await signal.wait(timeout: .seconds(3600), clock: clock) }
        await clock.sleepers(atLeast: 1)
        signal.signal()
        await waiter.value
    }

    @Test func aWaitEndsAtItsTimeoutOnTheClock() async {
        let signal = WakeSignal()
        let clock = ManualClock()
        let waiter = Task { await signal.wait(timeout: .seconds(30), clock: clock) }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(30))
        await waiter.value
    }
}
