import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Narrowed keys

extension PostgresStore {
    public func addNarrowedKey(_ key: NarrowedKeyRecord) async throws {
        // A missing agent fails the foreign key, a narrowed key's hash the primary key: both are `conflict`.
        try await transaction { tx in
            if try await !tx.execute("SELECT 1 FROM agent_keys WHERE key_hash = \(key.keyHash)").isEmpty {
                throw LatchkeyError(.conflict, "a key with this hash exists")
            }
            try await tx.execute(
                """
                INSERT INTO narrowed_keys (key_hash, agent, parent_hash, depth, grants, created_at, expires_at)
                VALUES (\(key.keyHash), \(key.agent.description), \(key.parentHash), \(key.depth), \(Self.json(key.grants)),
                    \(Self.time(key.createdAt)), \(Self.time(key.expiresAt)))
                """)
        }
    }

    public func narrowedKey(hash: String) async throws -> NarrowedKeyRecord? {
        try await execute("SELECT * FROM narrowed_keys WHERE key_hash = \(hash)").first.map(Self.narrowedKey)
    }

    public func narrowedKeys(agent: OwnerRef) async throws -> [NarrowedKeyRecord] {
        try await execute("SELECT * FROM narrowed_keys WHERE agent = \(agent.description) ORDER BY created_at DESC, key_hash DESC")
            .map(Self.narrowedKey)
    }

    static func narrowedKey(_ row: PostgresRandomAccessRow) throws -> NarrowedKeyRecord {
        guard let agent = try? OwnerRef(parsing: try row.value("agent", as: String.self)) else { throw LatchkeyError.malformedRow(column: "agent") }
        return NarrowedKeyRecord(
            keyHash: try row.value("key_hash"), agent: agent, parentHash: try row.value("parent_hash"), depth: try row.value("depth"),
            grants: try StoredJSON.required([StoredGrant].self, try row.value("grants"), "grants"),
            createdAt: try StoredTime.required(try row.value("created_at"), "created_at"),
            expiresAt: try StoredTime.required(try row.value("expires_at"), "expires_at"))
    }
}
