import Foundation
import LatchkeyStore
import GRDB

/// Admin and person sessions: the operations both kinds share, on either table.
extension SQLiteStore: SessionTables {
    /// Deletes the session if it has expired at `now` (a read found it dead); a session renewed meanwhile stays.
    func deleteSession(_ table: SessionTable, idHash: String, expiredAt now: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM \(table.rawValue) WHERE id_hash = ? AND expires_at <= ?", arguments: [idHash, Self.time(now)])
        }
    }

    public func deleteSession(_ table: SessionTable, idHash: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM \(table.rawValue) WHERE id_hash = ?", arguments: [idHash]) }
    }

    public func setSessionMessage(_ table: SessionTable, idHash: String, sealed: [UInt8]) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE \(table.rawValue) SET message = ? WHERE id_hash = ?", arguments: [Data(sealed), idHash])
        }
    }

    public func takeSessionMessage(_ table: SessionTable, idHash: String) async throws -> [UInt8]? {
        // Writes are serialized, so the read and the clear form one step.
        try await write { db in
            guard let message = try Data.fetchOne(db, sql: "SELECT message FROM \(table.rawValue) WHERE id_hash = ?", arguments: [idHash])
            else { return nil }
            try db.execute(sql: "UPDATE \(table.rawValue) SET message = NULL WHERE id_hash = ?", arguments: [idHash])
            return Array(message)
        }
    }
}
