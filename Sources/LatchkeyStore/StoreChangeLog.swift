import Foundation

/// One committed change to a table that the hot path keeps in memory, as a database trigger recorded it.
public struct StoreChange: Sendable, Equatable {
    /// The tables whose changes are recorded; each names what a cache must forget.
    public enum Table: String, Sendable, CaseIterable {
        case connections
        case consents
        case credentialChoices = "credential_choices"
        case owners
        case agentKeys = "agent_keys"
        case narrowedKeys = "narrowed_keys"
        case capabilityGrants = "capability_grants"
        case orgAccessPolicies = "org_access_policies"
        case dataKeys = "data_keys"
    }

    /// The change's place in the log.
    public var seq: Int64
    /// The changed table; nil for a name this version does not know (a newer replica's), which forgets everything.
    public var table: Table?
    /// The changed row's id, where the table has one the caches key by: a connection's id, a data key's owner.
    public var subject: String?
    /// Whether the change can alter which rows other lookups pick (a row added or removed, or a connection's owner,
    /// provider, state, default flag or credential choice changed), not only the row itself.
    public var wide: Bool

    public init(seq: Int64, table: Table?, subject: String?, wide: Bool) {
        self.seq = seq
        self.table = table
        self.subject = subject
        self.wide = wide
    }
}

/// Where a follower of the change log has read to. Each engine fills it in its own way; followers only hand it back.
public struct StoreChangeCursor: Sendable, Equatable {
    /// SQLite: the last sequence number read. PostgreSQL: the oldest transaction still running at the last read
    /// (`pg_snapshot_xmin`), from which on changes are read again.
    public var position: Int64
    /// PostgreSQL: the changes already read at or after `position`, so none is reported twice.
    public var seen: Set<Int64>

    public init(position: Int64, seen: Set<Int64> = []) {
        self.position = position
        self.seen = seen
    }
}

/// What one read of the change log found.
public struct StoreChangeBatch: Sendable, Equatable {
    /// The new changes, oldest first.
    public var changes: [StoreChange]
    /// Where the next read starts.
    public var cursor: StoreChangeCursor
    /// More changes were committed than one read returns: a follower must forget everything it keeps.
    public var overflowed: Bool

    public init(changes: [StoreChange], cursor: StoreChangeCursor, overflowed: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.overflowed = overflowed
    }
}

/// The log of committed changes to the tables that every replica's hot-path caches hold, written by triggers in the
/// database itself, so that no write path (another replica, another process on the same SQLite file, an operator's
/// SQL) goes unannounced. The in-memory store has none: nothing but its own process writes it.
public protocol StoreChangeLog: Sendable {
    /// The changes committed after `cursor`, at most `limit`; from now on when `cursor` is nil (no changes, a cursor).
    func changes(after cursor: StoreChangeCursor?, limit: Int) async throws -> StoreChangeBatch
    /// Deletes changes older than `retention` seconds by the database's clock; returns how many.
    @discardableResult func pruneChanges(olderThan retention: TimeInterval) async throws -> Int
}

/// A cache that forgets what the change log says changed.
public protocol StoreChangeSubscriber: Sendable {
    /// `change` was committed (perhaps by this process, which has already forgotten what it wrote).
    func storeChanged(_ change: StoreChange)
    /// Changes may have been missed (the log overflowed or was pruned past the follower): forget everything.
    func storeChangesMissed()
}
