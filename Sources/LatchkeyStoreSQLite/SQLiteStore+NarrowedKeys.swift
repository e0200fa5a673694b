import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Narrowed keys

extension SQLiteStore {
    public func addNarrowedKey(_ key: NarrowedKeyRecord) async throws {
        // Writes are serialized, so the check and the insert form one step. A missing agent fails the foreign key, a
        // narrowed key's hash the primary key: both are `conflict`.
        try await write { db in
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM owners WHERE ref = ?"), arguments: [key.agent.description]) == true else {
                throw LatchkeyError(.conflict, "\(key.agent) does not exist")
            }
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM agent_keys WHERE key_hash = ?"), arguments: [key.keyHash]) == true {
                throw LatchkeyError(.conflict, "a key with this hash exists")
            }
            let parentLive = try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM agent_keys WHERE key_hash = ? AND agent = ? AND revoked_at IS NULL)
                        OR EXISTS (SELECT 1 FROM narrowed_keys WHERE key_hash = ? AND agent = ? AND expires_at > ?)
                    """,
                arguments: [key.parentHash, key.agent.description, key.parentHash, key.agent.description, Self.time(key.createdAt)])
            guard parentLive == true else { throw NarrowedKeyRecord.parentGone }
            try db.execute(
                sql: """
                    INSERT INTO narrowed_keys (key_hash, agent, parent_hash, depth, grants, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.keyHash, key.agent.description, key.parentHash, key.depth, Self.json(key.grants), Self.time(key.createdAt),
                    Self.time(key.expiresAt),
                ])
        }
    }

    public func narrowedKey(hash: String) async throws -> NarrowedKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM narrowed_keys WHERE key_hash = ?"), arguments: [hash]).map(Self.narrowedKey)
        }
    }

    public func narrowedKeys(agent: OwnerRef) async throws -> [NarrowedKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM narrowed_keys WHERE agent = ? ORDER BY created_at DESC, key_hash DESC"), arguments: [agent.description]
            ).map(Self.narrowedKey)
        }
    }

    public func purgeNarrowedKeys(expiredBefore: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM narrowed_keys WHERE expires_at < ?", arguments: [Self.time(expiredBefore)])
            return db.changesCount
        }
    }

    static func narrowedKey(_ row: Row) throws -> NarrowedKeyRecord {
        NarrowedKeyRecord(
            keyHash: try Self.required(row, "key_hash", as: String.self),
            agent: try OwnerRef(stored: Self.required(row, "agent", as: String.self), column: "agent"),
            parentHash: try Self.required(row, "parent_hash", as: String.self), depth: try Self.required(row, "depth", as: Int.self),
            grants: try StoredJSON.required([StoredGrant].self, try Self.optional(row, "grants", as: String.self), "grants"),
            createdAt: try Self.time(row, "created_at"), expiresAt: try Self.time(row, "expires_at"))
    }
}
