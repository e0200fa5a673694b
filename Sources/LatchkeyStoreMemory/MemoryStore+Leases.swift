import Foundation
import LatchkeyModel
import LatchkeyStore

/// The expiry a released lease is given: long past, so anyone may take it at once, while its fence stays.
private let released = Date(timeIntervalSince1970: 0)

extension MemoryStore.State {
    /// Takes the lease of `id` for `holder` unless a live one is held (even by `holder`). The row stays after a
    /// release so the fence only grows.
    mutating func acquireLease(_ id: ConnectionID, holder: String, now: Date, ttl: TimeInterval) -> RefreshLease? {
        let last = refreshLeases[id]
        if let last, last.expiresAt > now { return nil }
        let lease = RefreshLease(connectionID: id, holder: holder, fence: (last?.fence ?? 0) + 1, expiresAt: now.addingTimeInterval(ttl))
        refreshLeases[id] = lease
        return lease
    }

    /// Whether `lease` is still its connection's current lease (same holder and fence), live or not.
    func isCurrent(_ lease: RefreshLease) -> Bool {
        guard let current = refreshLeases[lease.connectionID] else { return false }
        return current.holder == lease.holder && current.fence == lease.fence
    }

    /// Ends `lease` at once, or at `keepOthersOutUntil`, if it is still the current one.
    mutating func release(_ lease: RefreshLease, keepOthersOutUntil: Date?) {
        guard isCurrent(lease) else { return }
        refreshLeases[lease.connectionID]?.expiresAt = keepOthersOutUntil ?? released
    }
}

extension MemoryStore: RefreshLeaseStore {
    public func acquireRefreshLease(_ id: ConnectionID, holder: String, now: Date, ttl: TimeInterval) async throws -> RefreshLease? {
        locked { $0.acquireLease(id, holder: holder, now: now, ttl: ttl) }
    }

    public func acquireRefreshLeases(_ ids: [ConnectionID], holder: String, now: Date, ttl: TimeInterval) async throws
        -> [ConnectionID: RefreshLease]
    {
        locked { state in
            var won: [ConnectionID: RefreshLease] = [:]
            for id in ids where won[id] == nil {
                won[id] = state.acquireLease(id, holder: holder, now: now, ttl: ttl)
            }
            return won
        }
    }

    public func finishRefreshes(_ outcomes: [RefreshOutcome]) async throws -> [Bool] {
        // A write that breaks a rule (a second default) fails the whole batch, as the engines' transaction does.
        try transaction { state in
            try outcomes.map { outcome in
                guard state.isCurrent(outcome.lease) else { return false }
                let wrote = try outcome.connection.map {
                    try state.connections.compareAndSwap($0, sealedCredential: outcome.sealedCredential, expectedVersion: outcome.expectedVersion)
                } ?? false
                if let event = outcome.audit { state.audit.append(event) }
                state.release(outcome.lease, keepOthersOutUntil: outcome.keepOthersOutUntil)
                return wrote
            }
        }
    }

    public func releaseRefreshLease(_ lease: RefreshLease, keepOthersOutUntil: Date?) async throws {
        locked { $0.release(lease, keepOthersOutUntil: keepOthersOutUntil) }
    }

    public func refreshLease(_ id: ConnectionID) async throws -> RefreshLease? {
        // As the engines: any lease not released, even one past its expiry (its holder may still be at work).
        locked { state in state.refreshLeases[id].flatMap { $0.expiresAt > released ? $0 : nil } }
    }

    public func update(
        _ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int, fencedBy lease: RefreshLease
    ) async throws -> Bool {
        try locked { state in
            guard state.isCurrent(lease) else { return false }
            return try state.connections.compareAndSwap(connection, sealedCredential: sealedCredential, expectedVersion: expectedVersion)
        }
    }
}
