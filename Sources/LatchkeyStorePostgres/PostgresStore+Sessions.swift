import Foundation
import LatchkeyStore
import PostgresNIO

/// Admin and person sessions: the operations both kinds share, on either table.
extension PostgresStore: SessionTables {
    /// Deletes the session if it has expired at `now` (a read found it dead); a session renewed meanwhile stays.
    func deleteSession(_ table: SessionTable, idHash: String, expiredAt now: Date) async throws {
        try await execute("DELETE FROM \(unescaped: table.rawValue) WHERE id_hash = \(idHash) AND expires_at <= \(Self.time(now))")
    }

    public func deleteSession(_ table: SessionTable, idHash: String) async throws {
        try await execute("DELETE FROM \(unescaped: table.rawValue) WHERE id_hash = \(idHash)")
    }

    public func setSessionMessage(_ table: SessionTable, idHash: String, sealed: [UInt8]) async throws {
        try await execute("UPDATE \(unescaped: table.rawValue) SET message = \(Self.bytes(sealed)) WHERE id_hash = \(idHash)")
    }

    public func takeSessionMessage(_ table: SessionTable, idHash: String) async throws -> [UInt8]? {
        // The row lock makes a concurrent taker wait, then read the cleared message.
        try await transaction { tx in
            guard let row = try await tx.execute("SELECT message FROM \(unescaped: table.rawValue) WHERE id_hash = \(idHash) FOR UPDATE").first,
                let message = try row.value("message", as: ByteBuffer?.self)
            else { return nil }
            try await tx.execute("UPDATE \(unescaped: table.rawValue) SET message = NULL WHERE id_hash = \(idHash)")
            return Self.bytes(message)
        }
    }
}
