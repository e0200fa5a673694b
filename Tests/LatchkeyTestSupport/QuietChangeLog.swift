import Foundation
import LatchkeyStore

/// A store change log with nothing new: what a follower reads while nobody writes. Tests hand the caches the changes
/// themselves (`storeChanged`), so that what a cache relies on is in the test, not in a database's timing.
public struct QuietChangeLog: StoreChangeLog {
    public init() {}

    public func changes(after cursor: StoreChangeCursor?, limit: Int) async throws -> StoreChangeBatch {
        StoreChangeBatch(changes: [], cursor: StoreChangeCursor(position: 0), overflowed: false)
    }

    public func pruneChanges(olderThan retention: TimeInterval) async throws -> Int { 0 }
}

extension StoreChangeFollower {
    /// Reads the log once at `now`, as the feed does every quarter second.
    public func poll(at now: Date) async throws {
        try await poll(now: now, ended: { now })
    }
}
