import Foundation
import Synchronization

/// Whether a cache may keep an entry past its short lifetime (one second): only while this process reads the change
/// log (``StoreChangeFollower``) and the last read began less than ``bound`` ago, so that a change committed anywhere
/// reaches every cache within the bound, as it did when entries lived for the bound alone.
public final class StoreChangeWatch: Sendable {
    /// How long after a read of the log began the caches may rely on it: the time within which another replica's
    /// write holds here.
    public let bound: TimeInterval
    /// The longest an entry is kept even while the log is read.
    public let longest: TimeInterval

    private struct State {
        /// When the first read of the log ended: entries read before it may predate changes it never reports.
        var followingSince: Date?
        /// When the last successful read began.
        var lastReadStarted: Date?
    }

    private let state = Mutex(State())

    public init(bound: TimeInterval = 1, longest: TimeInterval = 300) {
        self.bound = bound
        self.longest = longest
    }

    /// Whether an entry read from the store at `readAt`, and not forgotten since, may still be used at `now` although
    /// its short lifetime is over.
    public func vouches(forEntryReadAt readAt: Date, now: Date) -> Bool {
        guard now < readAt.addingTimeInterval(longest) else { return false }
        return state.withLock { state in
            guard let since = state.followingSince, let started = state.lastReadStarted else { return false }
            return readAt >= since && now < started.addingTimeInterval(bound)
        }
    }

    /// A read of the log that began at `started` and ended at `ended` was applied to every cache.
    func read(started: Date, ended: Date) {
        state.withLock { state in
            if state.followingSince == nil { state.followingSince = ended }
            state.lastReadStarted = started
        }
    }

    /// The log can no longer be relied on (it was missed): entries read from now on start a new following.
    func lost() {
        state.withLock { $0 = State() }
    }
}

/// Reads the store's change log and tells every cache what changed: run by a background service every fraction of
/// ``StoreChangeWatch/bound``.
public final class StoreChangeFollower: Sendable {
    /// Changes read at most at once; more than this forgets everything.
    public static let batchLimit = 1_000
    /// A follower that has not read the log for this long may have missed pruned changes, and forgets everything.
    public static let missedAfter: TimeInterval = 300

    let log: any StoreChangeLog
    let subscribers: [any StoreChangeSubscriber]
    /// What the caches ask before keeping an entry past its short lifetime.
    public let watch: StoreChangeWatch

    private struct Position {
        var cursor: StoreChangeCursor?
        var lastRead: Date?
    }

    private let position = Mutex(Position())

    public init(log: any StoreChangeLog, subscribers: [any StoreChangeSubscriber], watch: StoreChangeWatch) {
        self.log = log
        self.subscribers = subscribers
        self.watch = watch
    }

    /// Reads what was committed since the last read and tells the caches; `now` and `ended` give the read's start and end.
    /// Not to be called concurrently with itself. A failed read changes nothing, and the caches fall back to their
    /// short lifetime once the last good read is older than the bound.
    public func poll(now: Date, ended: @Sendable () -> Date) async throws {
        var current = position.withLock { $0 }
        if let last = current.lastRead, now.timeIntervalSince(last) > Self.missedAfter {
            forgetEverything()
            current = Position()
        }
        let batch = try await log.changes(after: current.cursor, limit: Self.batchLimit)
        if batch.overflowed || batch.changes.contains(where: { $0.table == nil }) {
            forgetEverything()
        } else {
            for change in batch.changes {
                for subscriber in subscribers { subscriber.storeChanged(change) }
            }
        }
        position.withLock { $0 = Position(cursor: batch.cursor, lastRead: now) }
        watch.read(started: now, ended: ended())
    }

    private func forgetEverything() {
        watch.lost()
        for subscriber in subscribers { subscriber.storeChangesMissed() }
    }
}
