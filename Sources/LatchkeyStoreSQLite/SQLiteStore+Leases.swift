import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func acquireRefreshLease(_ id: ConnectionID, holder: String, now: Date, ttl: TimeInterval) async throws -> RefreshLease? {
        try await acquireRefreshLeases([id], holder: holder, now: now, ttl: ttl)[id]
    }

    public func acquireRefreshLeases(_ ids: [ConnectionID], holder: String, now: Date, ttl: TimeInterval) async throws
        -> [ConnectionID: RefreshLease]
    {
        guard !ids.isEmpty else { return [:] }
        return try await write { db in
            var won: [ConnectionID: RefreshLease] = [:]
            for id in ids where won[id] == nil {
                if let lease = try Self.acquire(db, id, holder: holder, now: now, ttl: ttl) { won[id] = lease }
            }
            return won
        }
    }

    static func acquire(_ db: Database, _ id: ConnectionID, holder: String, now: Date, ttl: TimeInterval) throws -> RefreshLease? {
        let expires = now.addingTimeInterval(ttl)
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT fence, expires_at FROM refresh_leases WHERE connection_id = ?"), arguments: [id.rawValue])
        let fence: Int64
        if let row {
            let live = try Self.required(row, "expires_at", as: Double.self)
            guard live <= time(now) else { return nil }
            fence = try Self.required(row, "fence", as: Int64.self) + 1
            try db.execute(
                sql: "UPDATE refresh_leases SET holder = ?, fence = ?, expires_at = ? WHERE connection_id = ?",
                arguments: [holder, fence, time(expires), id.rawValue])
        } else {
            fence = 1
            try db.execute(
                sql: "INSERT INTO refresh_leases (connection_id, holder, fence, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [id.rawValue, holder, fence, time(expires)])
        }
        return RefreshLease(connectionID: id, holder: holder, fence: fence, expiresAt: expires)
    }

    public func finishRefreshes(_ outcomes: [RefreshOutcome]) async throws -> [Bool] {
        guard !outcomes.isEmpty else { return [] }
        let prepared = outcomes.map { o in (o, o.connection.map { Self.connectionArguments($0, o.sealedCredential) }) }
        return try await write { db in
            var written: [Bool] = []
            for (outcome, arguments) in prepared {
                let lease = outcome.lease
                guard try Self.isCurrent(db, lease) else {
                    written.append(false)
                    continue
                }
                var wrote = false
                if let connection = outcome.connection, let arguments {
                    try db.execute(
                        sql: Self.compareAndSwapConnectionSQL,
                        arguments: StatementArguments(arguments + [connection.id.rawValue, outcome.expectedVersion]))
                    wrote = db.changesCount == 1
                }
                if let event = outcome.audit { try Self.insertAudit(db, event) }
                try db.execute(
                    sql: "UPDATE refresh_leases SET expires_at = ? WHERE connection_id = ? AND holder = ? AND fence = ?",
                    arguments: [outcome.keepOthersOutUntil.map(Self.time) ?? 0, lease.connectionID.rawValue, lease.holder, lease.fence])
                written.append(wrote)
            }
            return written
        }
    }

    static func isCurrent(_ db: Database, _ lease: RefreshLease) throws -> Bool {
        guard let current = try Row.fetchOne(db.cachedStatement(sql: "SELECT holder, fence FROM refresh_leases WHERE connection_id = ?"), arguments: [lease.connectionID.rawValue])
        else { return false }
        return try Self.required(current, "holder", as: String.self) == lease.holder
            && Self.required(current, "fence", as: Int64.self) == lease.fence
    }

    public func releaseRefreshLease(_ lease: RefreshLease, keepOthersOutUntil: Date?) async throws {
        let until = keepOthersOutUntil.map(Self.time) ?? 0
        try await write { db in
            try db.execute(
                sql: "UPDATE refresh_leases SET expires_at = ? WHERE connection_id = ? AND holder = ? AND fence = ?",
                arguments: [until, lease.connectionID.rawValue, lease.holder, lease.fence])
        }
    }

    public func refreshLease(_ id: ConnectionID) async throws -> RefreshLease? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT holder, fence, expires_at FROM refresh_leases WHERE connection_id = ? AND expires_at > 0"),
                arguments: [id.rawValue]
            ).map { row in
                RefreshLease(
                    connectionID: id, holder: try Self.required(row, "holder", as: String.self),
                    fence: try Self.required(row, "fence", as: Int64.self), expiresAt: try Self.time(row, "expires_at"))
            }
        }
    }

    public func update(
        _ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int, fencedBy lease: RefreshLease
    ) async throws -> Bool {
        let args = Self.connectionArguments(connection, sealedCredential)
        return try await write { db in
            guard try Self.isCurrent(db, lease) else { return false }
            try db.execute(sql: Self.compareAndSwapConnectionSQL, arguments: StatementArguments(args + [connection.id.rawValue, expectedVersion]))
            return db.changesCount == 1
        }
    }
}
