import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Data keys

extension SQLiteStore {
    public func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT key_version, ciphertext FROM data_keys WHERE owner = ?"), arguments: [owner.description])
                .map { row throws in try Self.wrappedDataKey(row, owner: owner) }
        }
    }

    public func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO data_keys (owner, key_version, ciphertext) VALUES (?, ?, ?) ON CONFLICT (owner) DO NOTHING",
                arguments: [key.owner.description, key.keyVersion, Data(key.ciphertext)])
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT key_version, ciphertext FROM data_keys WHERE owner = ?"), arguments: [key.owner.description])
            else { throw LatchkeyError(.conflict, "the data key of \(key.owner) was removed while it was written; try again") }
            return try Self.wrappedDataKey(row, owner: key.owner)
        }
    }

    public func deleteDataKey(for owner: OwnerRef) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM data_keys WHERE owner = ?", arguments: [owner.description])
            return db.changesCount > 0
        }
    }

    public func dataKeyCounts() async throws -> [Int: Int] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT key_version, COUNT(*) AS n FROM data_keys GROUP BY key_version"))
                .reduce(into: [Int: Int]()) { counts, row throws in counts[try Self.required(row, "key_version")] = try Self.required(row, "n") }
        }
    }

    public func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        try await pool.read { db in
            // Walks the (key_version, owner) index: older versions sort first, so a batch stops early.
            try Row.fetchAll(db.cachedStatement(sql: "SELECT owner, key_version, ciphertext FROM data_keys WHERE key_version <> ? ORDER BY key_version, owner LIMIT ?"),
                arguments: [version, limit]
            ).compactMap { row in
                let ownerText = try Self.required(row, "owner", as: String.self)
                guard let owner = try? OwnerRef(parsing: ownerText) else { return nil }
                return try Self.wrappedDataKey(row, owner: owner)
            }
        }
    }

    public func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int {
        guard !replacements.isEmpty else { return 0 }
        return try await pool.write { db in
            var replaced = 0
            for r in replacements {
                try db.execute(
                    sql: "UPDATE data_keys SET key_version = ?, ciphertext = ? WHERE owner = ? AND key_version = ? AND ciphertext = ?",
                    arguments: [
                        r.replacement.keyVersion, Data(r.replacement.ciphertext), r.expected.owner.description, r.expected.keyVersion,
                        Data(r.expected.ciphertext),
                    ])
                replaced += db.changesCount
            }
            return replaced
        }
    }
}

extension SQLiteStore {
    /// A wrapped data key from its row; a value of the wrong type fails the read with `internal_error` naming the column.
    static func wrappedDataKey(_ row: Row, owner: OwnerRef) throws(LatchkeyError) -> WrappedDataKeyRecord {
        WrappedDataKeyRecord(
            owner: owner, keyVersion: try required(row, "key_version"), ciphertext: Array(try required(row, "ciphertext", as: Data.self)))
    }
}
