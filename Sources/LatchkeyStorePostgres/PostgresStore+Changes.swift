import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

/// Sequence numbers are handed out before commit, so a change with a lower number can commit after one with a higher
/// number. A follower therefore reads again every change of a transaction that was still running at its last read
/// (`tx >= xmin` of that read's snapshot) and skips those it has seen.
extension PostgresStore: StoreChangeLog {
    public func changes(after cursor: StoreChangeCursor?, limit: Int) async throws -> StoreChangeBatch {
        // One statement, one snapshot: the rows and the xmin they are complete up to. Every row of the window comes
        // back (its number at least), so that the next read knows all it has seen; the window is the changes of
        // transactions that were running at the last read or began since, a handful unless a write runs for long.
        let rows: [PostgresRandomAccessRow]
        let window = Self.windowRows + 1
        if let cursor {
            rows = try await execute(
                """
                SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin, c.seq, c.topic, c.subject, c.wide
                FROM (SELECT 1) AS one LEFT JOIN store_changes c ON c.tx >= (\(cursor.position))::text::xid8
                ORDER BY c.seq LIMIT \(window)
                """)
        } else {
            rows = try await execute(
                """
                SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin, c.seq, c.topic, c.subject, c.wide
                FROM (SELECT 1) AS one LEFT JOIN store_changes c ON c.tx >= pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY c.seq LIMIT \(window)
                """)
        }
        guard let first = rows.first else { throw LatchkeyError(.internalError, "the change log's read returned no row") }
        let xmin = try first.value("xmin", as: Int64.self)
        var seen = Set<Int64>()
        var changes: [StoreChange] = []
        for row in rows {
            guard let seq = try row.value("seq", as: Int64?.self) else { continue }
            seen.insert(seq)
            guard let cursor, !cursor.seen.contains(seq) else { continue }
            changes.append(StoreChange(
                seq: seq, table: StoreChange.Table(rawValue: try row.value("topic", as: String.self)), subject: try row.value("subject", as: String?.self),
                wide: try row.value("wide", as: Bool.self)))
        }
        let overflowed = changes.count > limit || rows.count >= window
        return StoreChangeBatch(changes: overflowed ? [] : changes, cursor: StoreChangeCursor(position: xmin, seen: seen), overflowed: overflowed)
    }

    /// The most rows of the window one read returns; past it the read overflows.
    static let windowRows = 100_000

    public func pruneChanges(olderThan retention: TimeInterval) async throws -> Int {
        try await execute(
            """
            WITH gone AS (DELETE FROM store_changes WHERE at < extract(epoch FROM clock_timestamp()) - \(retention) RETURNING 1)
            SELECT count(*)::bigint AS n FROM gone
            """
        ).first.map { try $0.value("n", as: Int.self) } ?? 0
    }
}
