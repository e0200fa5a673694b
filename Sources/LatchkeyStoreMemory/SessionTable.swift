import Foundation

/// Signed-in sessions by id hash, with what the dashboard's and people's sessions share: a session is found until it
/// expires (and deleted on the way), and its waiting message is taken once.
struct SessionTable<Holder: Sendable>: Sendable {
    struct Row: Sendable {
        /// Who signed in (a person), or nothing (the dashboard's one admin).
        var holder: Holder
        var expiresAt: Date
        /// The sealed message waiting for the session's next page.
        var message: [UInt8]?
    }

    private(set) var rows: [String: Row] = [:]

    /// Deletes every session expired at `now`, then stores the new one; `conflict` when its hash is still stored.
    /// Throws before changing anything.
    mutating func start(idHash: String, holder: Holder, expiresAt: Date, now: Date) throws {
        if let existing = rows[idHash], existing.expiresAt > now { throw MemoryStore.conflict("a session with this hash already exists") }
        rows.removeAll { $0.expiresAt <= now }
        rows[idHash] = Row(holder: holder, expiresAt: expiresAt)
    }

    /// The live session with this hash; an expired one is deleted and not returned.
    mutating func live(idHash: String, now: Date) -> Row? {
        guard let row = rows[idHash] else { return nil }
        guard row.expiresAt > now else {
            rows[idHash] = nil
            return nil
        }
        return row
    }

    mutating func end(idHash: String) { rows[idHash] = nil }

    /// Ends the sessions matching `shouldEnd`; returns how many ended.
    @discardableResult
    mutating func end(where shouldEnd: (Row) -> Bool) -> Int { rows.removeAll(where: shouldEnd) }

    /// Leaves a message for a stored session, replacing any waiting one; a missing session gets none.
    mutating func setMessage(idHash: String, sealed: [UInt8]) { rows[idHash]?.message = sealed }

    /// The waiting message, removed.
    mutating func takeMessage(idHash: String) -> [UInt8]? {
        defer { rows[idHash]?.message = nil }
        return rows[idHash]?.message
    }
}
