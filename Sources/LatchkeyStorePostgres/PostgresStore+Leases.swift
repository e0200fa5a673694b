import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Refresh leases

extension PostgresStore {
    public func acquireRefreshLease(_ id: ConnectionID, holder: String, now: Date, ttl: TimeInterval) async throws -> RefreshLease? {
        let expires = now.addingTimeInterval(ttl)
        // One statement: a racing acquirer waits on the row lock, then re-checks the expiry that the winner set.
        let rows = try await execute(
            """
            INSERT INTO refresh_leases (connection_id, holder, fence, expires_at) VALUES (\(id.rawValue), \(holder), 1, \(Self.time(expires)))
            ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder, fence = refresh_leases.fence + 1,
                expires_at = excluded.expires_at
            WHERE refresh_leases.expires_at <= \(Self.time(now))
            RETURNING fence
            """)
        return try rows.first.map { RefreshLease(connectionID: id, holder: holder, fence: try $0.value("fence"), expiresAt: expires) }
    }

    public func acquireRefreshLeases(_ ids: [ConnectionID], holder: String, now: Date, ttl: TimeInterval) async throws
        -> [ConnectionID: RefreshLease]
    {
        guard !ids.isEmpty else { return [:] }
        let expires = now.addingTimeInterval(ttl)
        // One transaction (one commit) for the batch; each statement is the single acquisition above. Sorted ids lock
        // rows in one order, so two batches never deadlock.
        return try await transaction { tx in
            var won: [ConnectionID: RefreshLease] = [:]
            for id in Set(ids).sorted(by: { $0.rawValue < $1.rawValue }) {
                let rows = try await tx.execute(
                    """
                    INSERT INTO refresh_leases (connection_id, holder, fence, expires_at) VALUES (\(id.rawValue), \(holder), 1, \(Self.time(expires)))
                    ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder, fence = refresh_leases.fence + 1,
                        expires_at = excluded.expires_at
                    WHERE refresh_leases.expires_at <= \(Self.time(now))
                    RETURNING fence
                    """)
                if let row = rows.first {
                    won[id] = RefreshLease(connectionID: id, holder: holder, fence: try row.value("fence"), expiresAt: expires)
                }
            }
            return won
        }
    }

    public func finishRefreshes(_ outcomes: [RefreshOutcome]) async throws -> [Bool] {
        guard !outcomes.isEmpty else { return [] }
        return try await transaction { tx in
            var written: [Bool] = []
            for outcome in outcomes {
                let lease = outcome.lease
                // The lease row stays locked until COMMIT: nobody takes it over between the check and the write.
                let current = try await tx.execute(
                    "SELECT holder, fence FROM refresh_leases WHERE connection_id = \(lease.connectionID.rawValue) FOR UPDATE")
                guard let row = current.first, try row.value("holder", as: String.self) == lease.holder,
                    try row.value("fence", as: Int64.self) == lease.fence
                else {
                    written.append(false)
                    continue
                }
                var wrote = false
                if let connection = outcome.connection {
                    wrote = try await !tx.execute(
                        Self.compareAndSwap(connection, outcome.sealedCredential, expectedVersion: outcome.expectedVersion)).isEmpty
                }
                if let e = outcome.audit {
                    try await Self.appendAudit(e, in: tx)
                }
                let until = outcome.keepOthersOutUntil.map(Self.time) ?? 0
                try await tx.execute(
                    """
                    UPDATE refresh_leases SET expires_at = \(until)
                    WHERE connection_id = \(lease.connectionID.rawValue) AND holder = \(lease.holder) AND fence = \(lease.fence)
                    """)
                written.append(wrote)
            }
            return written
        }
    }

    public func releaseRefreshLease(_ lease: RefreshLease, keepOthersOutUntil: Date?) async throws {
        let until = keepOthersOutUntil.map(Self.time) ?? 0
        try await execute(
            """
            UPDATE refresh_leases SET expires_at = \(until)
            WHERE connection_id = \(lease.connectionID.rawValue) AND holder = \(lease.holder) AND fence = \(lease.fence)
            """)
    }

    public func refreshLease(_ id: ConnectionID) async throws -> RefreshLease? {
        try await execute("SELECT holder, fence, expires_at FROM refresh_leases WHERE connection_id = \(id.rawValue) AND expires_at > 0")
            .first.map { row in
                RefreshLease(
                    connectionID: id, holder: try row.value("holder"), fence: try row.value("fence"),
                    expiresAt: try StoredTime.required(try row.value("expires_at"), "expires_at"))
            }
    }

    public func update(
        _ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int, fencedBy lease: RefreshLease
    ) async throws -> Bool {
        let write = Self.compareAndSwap(connection, sealedCredential, expectedVersion: expectedVersion)
        return try await transaction { tx in
            // The lease row stays locked until COMMIT, so nobody takes the lease over between the check and the write.
            let current = try await tx.execute(
                "SELECT holder, fence FROM refresh_leases WHERE connection_id = \(lease.connectionID.rawValue) FOR UPDATE")
            guard let current = current.first, try current.value("holder", as: String.self) == lease.holder,
                try current.value("fence", as: Int64.self) == lease.fence
            else { return false }
            return try await !tx.execute(write).isEmpty
        }
    }
}
