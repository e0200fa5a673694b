import Foundation
import GRDB
import LatchkeyModel

/// A consistent copy of the embedded database, taken while Latchkey serves from it (`latchkey admin backup`).
public enum SQLiteBackup {
    /// What a backup holds.
    public struct Report: Sendable, Equatable {
        public var bytes: Int
        public var connections: Int
        public var auditEvents: Int
    }

    /// Copies the database at `source` to `destination` with SQLite's online backup API, from one read transaction, so
    /// the copy is the database as it was at one instant, whatever is written meanwhile. The copy is written 0600 to
    /// `destination.partial`, checked (`PRAGMA integrity_check`), and only then renamed to `destination`: a backup cut
    /// short (a crash, a full disk) never takes the destination's name, and an older backup there stays whole.
    public static func copy(databaseAt source: String, to destination: String) throws -> Report {
        guard FileManager.default.fileExists(atPath: source) else {
            throw LatchkeyError(.notFound, "the database \(source) does not exist", field: "database_url")
        }
        let partial = destination + ".partial"
        for leftover in [partial, partial + "-wal", partial + "-shm", partial + "-journal"] {
            try? FileManager.default.removeItem(atPath: leftover)
        }
        do {
            var readOnly = Configuration()
            readOnly.readonly = true
            readOnly.busyMode = .timeout(10)
            let live = try DatabasePool(path: source, configuration: readOnly)
            try SQLiteStore.restrictFiles(at: partial)
            let copy = try DatabaseQueue(path: partial)
            try live.backup(to: copy)
            let report = try copy.read { db -> Report in
                let check = try String.fetchOne(db.cachedStatement(sql: "PRAGMA integrity_check"))
                guard check == "ok" else { throw LatchkeyError(.internalError, "the copy failed its integrity check: \(check ?? "no answer")") }
                return Report(
                    bytes: 0, connections: try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM connections")) ?? 0,
                    auditEvents: try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM audit_events")) ?? 0)
            }
            try copy.close()
            try live.close()
            guard rename(partial, destination) == 0 else {
                throw LatchkeyError(.internalError, "the backup could not be moved to \(destination) (errno \(errno))")
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
            return Report(bytes: size, connections: report.connections, auditEvents: report.auditEvents)
        } catch let error as LatchkeyError {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw LatchkeyError(.internalError, "the backup failed: \(error)")
        }
    }
}
