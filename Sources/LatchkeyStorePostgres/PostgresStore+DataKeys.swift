import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Data keys

extension PostgresStore {
    static func dataKeyRecord(_ row: PostgresRandomAccessRow, owner: OwnerRef) throws -> WrappedDataKeyRecord {
        WrappedDataKeyRecord(
            owner: owner, keyVersion: try row.value("key_version", as: Int.self),
            ciphertext: bytes(try row.value("ciphertext", as: ByteBuffer.self)) ?? [])
    }

    public func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? {
        try await execute("SELECT key_version, ciphertext FROM data_keys WHERE owner = \(owner.description)").first
            .map { try Self.dataKeyRecord($0, owner: owner) }
    }

    public func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        // ON CONFLICT waits for a racing insert to commit, so the read after it sees the one stored key.
        try await execute(
            """
            INSERT INTO data_keys (owner, key_version, ciphertext) VALUES (\(key.owner.description), \(key.keyVersion), \(Self.bytes(key.ciphertext)))
            ON CONFLICT (owner) DO NOTHING
            """)
        guard let row = try await execute("SELECT key_version, ciphertext FROM data_keys WHERE owner = \(key.owner.description)").first else {
            throw LatchkeyError(.conflict, "the data key of \(key.owner) was deleted while it was being created")
        }
        return try Self.dataKeyRecord(row, owner: key.owner)
    }

    public func deleteDataKey(for owner: OwnerRef) async throws -> Bool {
        try await !execute("DELETE FROM data_keys WHERE owner = \(owner.description) RETURNING 1").isEmpty
    }

    public func dataKeyCounts() async throws -> [Int: Int] {
        try await execute("SELECT key_version, COUNT(*) AS n FROM data_keys GROUP BY key_version").reduce(into: [Int: Int]()) {
            $0[try $1.value("key_version", as: Int.self)] = try $1.value("n", as: Int.self)
        }
    }

    public func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        // Walks the (key_version, owner) index: older versions sort first, so a batch stops early.
        try await execute(
            "SELECT owner, key_version, ciphertext FROM data_keys WHERE key_version <> \(version) ORDER BY key_version, owner LIMIT \(limit)"
        ).compactMap { row in
            guard let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self)) else { return nil }
            return try Self.dataKeyRecord(row, owner: owner)
        }
    }

    public func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int {
        guard !replacements.isEmpty else { return 0 }
        return try await transaction { tx in
            var replaced = 0
            for r in replacements {
                replaced += try await tx.execute(
                    """
                    UPDATE data_keys SET key_version = \(r.replacement.keyVersion), ciphertext = \(Self.bytes(r.replacement.ciphertext))
                    WHERE owner = \(r.expected.owner.description) AND key_version = \(r.expected.keyVersion)
                        AND ciphertext = \(Self.bytes(r.expected.ciphertext))
                    RETURNING 1
                    """
                ).count
            }
            return replaced
        }
    }
}
