import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

/// The embedded store: one SQLite file (WAL mode) through the system's libsqlite3.
///
/// GRDB runs every statement on its own serial queues, so callers on Hummingbird's event loops
/// only suspend; they never block.
public final class SQLiteStore: LatchkeyStorage {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and runs pending migrations. The database is the owner's
    /// alone (0600), and so are its WAL and shared-memory files (SQLite gives them the database's mode).
    public init(path: String) throws {
        try Self.restrictFiles(at: path)
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try SQLiteMigrations.migrator().migrate(pool)
    }

    /// Creates the database file 0600 when it is missing, and takes away any access of others from it and from the
    /// WAL, shared-memory and journal files already there (a database created by an older Latchkey, or copied in).
    static func restrictFiles(at path: String) throws {
        guard path != ":memory:", !path.isEmpty else { return }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LatchkeyError(.internalError, "the database \(path) could not be opened (errno \(errno))") }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw LatchkeyError(.internalError, "the database \(path) could not be made 0600 (errno \(errno))") }
        for suffix in ["-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path + suffix) {
            guard chmod(path + suffix, 0o600) == 0 else {
                throw LatchkeyError(.internalError, "\(path + suffix) could not be made 0600 (errno \(errno))")
            }
        }
    }

    /// The applied migration identifiers, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in try SQLiteMigrations.migrator().appliedMigrations(db) }
    }

    static func time(_ date: Date) -> Double { date.timeIntervalSince1970 }
    static func date(_ value: Double?) -> Date? { StoredTime.date(value) }

    /// The time in `column`, which the row must hold. A row holding something else (edited by hand, or damaged) fails
    /// the read with `internal_error` naming the column, where GRDB's typed subscript would stop the process.
    static func time(_ row: Row, _ column: String) throws(LatchkeyError) -> Date {
        guard let seconds = Double.fromDatabaseValue(row[column] as DatabaseValue), let date = StoredTime.date(seconds), seconds.isFinite else {
            throw .malformedRow(column: column, row: identity(of: row))
        }
        return date
    }

    /// The time in `column`, or nil when it is NULL; anything else that is not a time fails the read as ``time(_:_:)``.
    static func optionalTime(_ row: Row, _ column: String) throws(LatchkeyError) -> Date? {
        let value = row[column] as DatabaseValue
        if value.isNull { return nil }
        return try time(row, column)
    }

    /// The value in `column`, which the row must hold as a `T`. A row holding NULL or something else fails the read with
    /// `internal_error` naming the column, where GRDB's typed subscript would stop the process.
    static func required<T: DatabaseValueConvertible>(_ row: Row, _ column: String, as type: T.Type = T.self) throws(LatchkeyError) -> T {
        guard let value = T.fromDatabaseValue(row[column] as DatabaseValue) else { throw .malformedRow(column: column, row: identity(of: row)) }
        return value
    }

    /// The columns that name a row, in the order they are tried: the first the row holds names it in errors and logs.
    static let identifyingColumns = ["id", "connection_id", "id_hash", "owner", "chain", "org", "provider", "holder"]

    /// `column=value` of the first identifying column the row holds (values cut at 80 characters), or nil.
    static func identity(of row: Row) -> String? {
        for column in identifyingColumns where row.hasColumn(column) {
            let value = row[column] as DatabaseValue
            guard !value.isNull else { continue }
            let text = String.fromDatabaseValue(value) ?? value.description
            return "\(column)=\(text.prefix(80))"
        }
        return nil
    }

    /// The value in `column`, or nil when it is NULL; anything else that is not a `T` fails the read as ``required(_:_:as:)``.
    static func optional<T: DatabaseValueConvertible>(_ row: Row, _ column: String, as type: T.Type = T.self) throws(LatchkeyError) -> T? {
        if (row[column] as DatabaseValue).isNull { return nil }
        return try required(row, column, as: type)
    }

    static func json(_ value: some Encodable) -> String { StoredJSON.encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? { StoredJSON.decode(type, text) }

    /// `INSERT INTO table (columns) VALUES (?, …) ON CONFLICT (key) DO UPDATE SET column = excluded.column, …`: the
    /// store's one way to create a row or replace it in place. `update` names the columns a replacement sets; by
    /// default every column outside the key. Arguments follow `columns`, in order.
    static func upsert(_ table: String, _ columns: [String], key: [String], update: [String]? = nil) -> String {
        let updated = (update ?? columns.filter { !key.contains($0) }).map { "\($0) = excluded.\($0)" }
        return """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(databaseQuestionMarks(count: columns.count)))
            ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(updated.joined(separator: ", "))
            """
    }

    /// Runs a write, turning constraint violations into `conflict`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw LatchkeyError(.conflict, "the record already exists or refers to a missing one")
        }
    }
}

/// A WHERE clause built from optional equality filters; absent values add nothing.
struct Filter: Sendable {
    private(set) var clauses: [String] = []
    private(set) var arguments: [any DatabaseValueConvertible & Sendable] = []

    init(_ equalities: [(column: String, value: String?)]) {
        for (column, value) in equalities {
            if let value { add("\(column) = ?", value) }
        }
    }

    mutating func add(_ clause: String, _ value: any DatabaseValueConvertible & Sendable) {
        clauses.append(clause)
        arguments.append(value)
    }

    /// Adds `column IN (…)` over `values`: none of them matches no row.
    mutating func add(_ column: String, in values: [String]) {
        clauses.append("\(column) IN (\(databaseQuestionMarks(count: values.count)))")
        arguments.append(contentsOf: values as [any DatabaseValueConvertible & Sendable])
    }

    /// Appends a LIMIT value after the filters' own (the SQL names it after the WHERE clause).
    mutating func limit(_ n: Int) { arguments.append(n) }

    var whereSQL: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }
}
