import Foundation
import LatchkeyStore
import Synchronization
import Testing

/// The follower hands every change of the log to every cache, and its watch vouches for cache entries only while the
/// log is read: from the end of the first read on, and for ``StoreChangeWatch/bound`` after the last read began.
@Suite struct StoreChangeFollowerTests {
    /// A log that answers each read with the next scripted batch (or error).
    final class ScriptedLog: StoreChangeLog {
        let script: Mutex<[Result<[StoreChange], any Error>]>
        let cursors = Mutex<[StoreChangeCursor?]>([])
        let overflowNext = Atomic<Bool>(false)
        init(_ script: [Result<[StoreChange], any Error>]) { self.script = Mutex(script) }
        func changes(after cursor: StoreChangeCursor?, limit: Int) async throws -> StoreChangeBatch {
            cursors.withLock { $0.append(cursor) }
            let next = script.withLock { $0.isEmpty ? .success([]) : $0.removeFirst() }
            let changes = try next.get()
            let position = (cursor?.position ?? 0) + Int64(changes.count)
            return StoreChangeBatch(changes: changes, cursor: StoreChangeCursor(position: position), overflowed: overflowNext.exchange(false, ordering: .relaxed))
        }
        func pruneChanges(olderThan retention: TimeInterval) async throws -> Int { 0 }
    }

    /// What a cache was told.
    final class Recorder: StoreChangeSubscriber {
        let told = Mutex<[String]>([])
        func storeChanged(_ change: StoreChange) { told.withLock { $0.append("\(change.table?.rawValue ?? "?") \(change.subject ?? "-")") } }
        func storeChangesMissed() { told.withLock { $0.append("missed") } }
    }

    struct ReadFailed: Error {}

    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }
    func change(_ seq: Int64, _ table: StoreChange.Table?, _ subject: String? = nil) -> StoreChange {
        StoreChange(seq: seq, table: table, subject: subject, wide: subject == nil)
    }

    @Test func everyChangeReachesEveryCacheInOrderAndTheCursorMovesOn() async throws {
        let log = ScriptedLog([.success([]), .success([change(1, .connections, "c1"), change(2, .consents)]), .success([change(3, .agentKeys)])])
        let (a, b) = (Recorder(), Recorder())
        let follower = StoreChangeFollower(log: log, subscribers: [a, b], watch: StoreChangeWatch())
        for i in 0..<3 { try await follower.poll(now: at(Double(i) * 0.25), ended: { at(Double(i) * 0.25) }) }
        #expect(a.told.withLock { $0 } == ["connections c1", "consents -", "agent_keys -"])
        #expect(b.told.withLock { $0 } == a.told.withLock { $0 })
        #expect(log.cursors.withLock { $0 } == [nil, StoreChangeCursor(position: 0), StoreChangeCursor(position: 2)])
    }

    @Test func theWatchVouchesFromTheEndOfTheFirstReadWhileReadsGoOn() async throws {
        let watch = StoreChangeWatch(bound: 1, longest: 300)
        let follower = StoreChangeFollower(log: ScriptedLog([]), subscribers: [], watch: watch)
        // Nothing is vouched for before the log is followed.
        #expect(!watch.vouches(forEntryReadAt: at(0), now: at(2)))
        try await follower.poll(now: at(1), ended: { at(1.1) })
        // An entry read during the first read may predate a change the read counted as past: not vouched for.
        #expect(!watch.vouches(forEntryReadAt: at(1.05), now: at(1.5)))
        #expect(watch.vouches(forEntryReadAt: at(1.1), now: at(1.9)))
        // The last read began at 1: at 2 its news is a second old.
        #expect(!watch.vouches(forEntryReadAt: at(1.1), now: at(2)))
        try await follower.poll(now: at(1.8), ended: { at(1.8) })
        #expect(watch.vouches(forEntryReadAt: at(1.1), now: at(2.7)))
        // Never past `longest`, however current the reads.
        try await follower.poll(now: at(301.5), ended: { at(301.5) })
        #expect(!watch.vouches(forEntryReadAt: at(1.1), now: at(301.6)))
        #expect(watch.vouches(forEntryReadAt: at(2), now: at(301.6)))
    }

    @Test func aFailedReadChangesNothingAndTheWatchLapses() async throws {
        let recorder = Recorder()
        let watch = StoreChangeWatch()
        let log = ScriptedLog([.success([]), .failure(ReadFailed()), .success([change(1, .owners)])])
        let follower = StoreChangeFollower(log: log, subscribers: [recorder], watch: watch)
        try await follower.poll(now: at(0), ended: { at(0) })
        await #expect(throws: ReadFailed.self) { try await follower.poll(now: at(0.5), ended: { at(0.5) }) }
        #expect(!watch.vouches(forEntryReadAt: at(0), now: at(1.2)))
        try await follower.poll(now: at(1.3), ended: { at(1.3) })
        #expect(recorder.told.withLock { $0 } == ["owners -"])
        #expect(log.cursors.withLock { $0.last } == StoreChangeCursor(position: 0))
        #expect(watch.vouches(forEntryReadAt: at(0), now: at(1.5)))
    }

    @Test func anOverflowAnUnknownTableOrALongLapseForgetsEverything() async throws {
        let recorder = Recorder()
        let watch = StoreChangeWatch()
        let log = ScriptedLog([.success([]), .success([change(1, .owners)]), .success([change(2, nil)]), .success([])])
        let follower = StoreChangeFollower(log: log, subscribers: [recorder], watch: watch)
        try await follower.poll(now: at(0), ended: { at(0) })
        log.overflowNext.store(true, ordering: .relaxed)
        try await follower.poll(now: at(0.25), ended: { at(0.3) })
        // Entries read before the overflow are no longer vouched for; the following starts again at its end.
        #expect(!watch.vouches(forEntryReadAt: at(0.1), now: at(1.2)))
        #expect(watch.vouches(forEntryReadAt: at(0.3), now: at(1.2)))
        try await follower.poll(now: at(0.5), ended: { at(0.5) })
        #expect(recorder.told.withLock { $0 } == ["missed", "missed"])
        // Five minutes without a read: pruned changes may have been missed, so the next read starts afresh.
        try await follower.poll(now: at(400), ended: { at(400) })
        #expect(recorder.told.withLock { $0 } == ["missed", "missed", "missed"])
        #expect(log.cursors.withLock { $0.last } == .some(nil))
    }
}
