import Foundation
import LatchkeyModel
import GRDB
import LatchkeyStore

/// SQLite has one writer at a time, so sequence numbers are given in commit order: a follower reads on from the last
/// one it saw.
extension SQLiteStore: StoreChangeLog {
    public func changes(after cursor: StoreChangeCursor?, limit: Int) async throws -> StoreChangeBatch {
        try await pool.read { db in
            let latest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM sqlite_sequence WHERE name = 'store_changes'")) ?? 0
            guard let cursor else { return StoreChangeBatch(changes: [], cursor: StoreChangeCursor(position: latest), overflowed: false) }
            // A file restored from an older copy starts again below the cursor: everything may have changed.
            if latest < cursor.position { return StoreChangeBatch(changes: [], cursor: StoreChangeCursor(position: latest), overflowed: true) }
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, topic, subject, wide FROM store_changes WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"),
                arguments: [cursor.position, latest, limit + 1])
            let changes = try rows.prefix(limit).map { row in
                StoreChange(
                    seq: try Self.required(row, "seq", as: Int64.self), table: StoreChange.Table(rawValue: try Self.required(row, "topic", as: String.self)),
                    subject: row["subject"], wide: try Self.required(row, "wide", as: Bool.self))
            }
            // The first change after the cursor was pruned before this follower read it.
            let gap = changes.first.map { $0.seq != cursor.position + 1 } ?? (latest > cursor.position)
            return StoreChangeBatch(changes: changes, cursor: StoreChangeCursor(position: latest), overflowed: rows.count > limit || gap)
        }
    }

    public func pruneChanges(olderThan retention: TimeInterval) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM store_changes WHERE at < \(SQLiteMigrations.databaseNow) - ?", arguments: [retention])
            return db.changesCount
        }
    }
}
