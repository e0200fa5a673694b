import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: AdminSessionStore {
    public func createAdminSession(idHash: String, expiresAt: Date, now: Date, capacity: Int) async throws {
        // Expired sessions go, then the ones closest to expiry until there is room; then the insert, which may fail and
        // undo it all, as in the engines' transaction.
        try transaction { state in
            state.adminSessions.end { $0.expiresAt <= now }
            let live = state.adminSessions.rows.sorted { ($0.value.expiresAt, ByteOrder($0.key)) < ($1.value.expiresAt, ByteOrder($1.key)) }
            for (hash, _) in live.prefix(max(0, live.count - capacity + 1)) { state.adminSessions.end(idHash: hash) }
            try state.adminSessions.start(idHash: idHash, holder: (), expiresAt: expiresAt, now: now)
        }
    }

    public func adminSessionExpiry(idHash: String, now: Date) async throws -> Date? {
        locked { $0.adminSessions.live(idHash: idHash, now: now)?.expiresAt }
    }

    public func deleteAdminSession(idHash: String) async throws {
        locked { $0.adminSessions.end(idHash: idHash) }
    }

    public func setAdminSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        locked { $0.adminSessions.setMessage(idHash: idHash, sealed: sealed) }
    }

    public func takeAdminSessionMessage(idHash: String) async throws -> [UInt8]? {
        locked { $0.adminSessions.takeMessage(idHash: idHash) }
    }
}
