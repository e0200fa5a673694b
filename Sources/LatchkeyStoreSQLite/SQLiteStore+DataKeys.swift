import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Data keys

extension SQLiteStore {
    public func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT key_version, ciphertext FROM data_keys WHERE owner = ?", arguments: [owner.description])
                .map { WrappedDataKeyRecord(owner: owner, keyVersion: $0["key_version"], ciphertext: Array($0["ciphertext"] as Data)) }
        }
    }

    public func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO data_keys (owner, key_version, ciphertext) VALUES (?, ?, ?) ON CONFLICT (owner) DO NOTHING",
                arguments: [key.owner.description, key.keyVersion, Data(key.ciphertext)])
            let row = try Row.fetchOne(db, sql: "SELECT key_version, ciphertext FROM data_keys WHERE owner = ?", arguments: [key.owner.description])!
            return WrappedDataKeyRecord(owner: key.owner, keyVersion: row["key_version"], ciphertext: Array(row["ciphertext"] as Data))
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
            try Row.fetchAll(db, sql: "SELECT key_version, COUNT(*) AS n FROM data_keys GROUP BY key_version")
                .reduce(into: [Int: Int]()) { $0[$1["key_version"]] = $1["n"] }
        }
    }

    public func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        try await pool.read { db in
            // Walks the (key_version, owner) index: older versions sort first, so a batch stops early.
            try Row.fetchAll(
                db, sql: "SELECT owner, key_version, ciphertext FROM data_keys WHERE key_version <> ? ORDER BY key_version, owner LIMIT ?",
                arguments: [version, limit]
            ).compactMap { row in
                guard let owner = try? OwnerRef(parsing: row["owner"]) else { return nil }
                return WrappedDataKeyRecord(owner: owner, keyVersion: row["key_version"], ciphertext: Array(row["ciphertext"] as Data))
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
