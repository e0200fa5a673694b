import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Narrowed keys

extension PostgresStore {
    public func addNarrowedKey(_ key: NarrowedKeyRecord) async throws {
        // A missing agent fails the foreign key, a narrowed key's hash the primary key: both are `conflict`.
        try await transaction { tx in
            // The agent's row orders this mint with a revocation of its keys (which locks the row for update): either
            // the revocation sees the new key and removes it, or this mint sees its parent revoked.
            guard try await !tx.execute("SELECT 1 FROM owners WHERE ref = \(key.agent.description) FOR SHARE").isEmpty else {
                throw LatchkeyError(.conflict, "\(key.agent) does not exist")
            }
            if try await !tx.execute("SELECT 1 FROM agent_keys WHERE key_hash = \(key.keyHash)").isEmpty {
                throw LatchkeyError(.conflict, "a key with this hash exists")
            }
            let parent = try await tx.execute(
                """
                SELECT 1 FROM agent_keys WHERE key_hash = \(key.parentHash) AND agent = \(key.agent.description) AND revoked_at IS NULL
                UNION ALL
                SELECT 1 FROM narrowed_keys
                WHERE key_hash = \(key.parentHash) AND agent = \(key.agent.description) AND expires_at > \(Self.time(key.createdAt))
                """)
            guard !parent.isEmpty else { throw NarrowedKeyRecord.parentGone }
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

    public func purgeNarrowedKeys(expiredBefore: Date) async throws -> Int {
        try await execute("DELETE FROM narrowed_keys WHERE expires_at < \(Self.time(expiredBefore)) RETURNING 1").count
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
