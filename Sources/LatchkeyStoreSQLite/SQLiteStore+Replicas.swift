import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func recordHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws {
        try await write { db in
            try db.execute(
                sql: Self.upsert(
                    "replicas", ["id", "address", "started_at", "seen_at", "key_fingerprints", "wrapping_version"], key: ["id"],
                    update: ["address", "seen_at", "key_fingerprints", "wrapping_version"]),
                arguments: [
                    heartbeat.id, heartbeat.address, Self.time(heartbeat.startedAt), Self.time(heartbeat.seenAt),
                    heartbeat.encodedFingerprints, heartbeat.wrappingVersion,
                ])
        }
    }

    public func replicas(seenSince: Date) async throws -> [ReplicaHeartbeat] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM replicas WHERE seen_at >= ? ORDER BY address, id"), arguments: [Self.time(seenSince)]).map { row in
                ReplicaHeartbeat(
                    id: try Self.required(row, "id", as: String.self), address: try Self.required(row, "address", as: String.self),
                    startedAt: try Self.time(row, "started_at"), seenAt: try Self.time(row, "seen_at"),
                    keyFingerprints: ReplicaHeartbeat.decodeFingerprints(try Self.required(row, "key_fingerprints", as: String.self)),
                    wrappingVersion: try Self.required(row, "wrapping_version", as: Int.self))
            }
        }
    }

    public func removeReplica(id: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM replicas WHERE id = ?", arguments: [id]) }
    }

    public func pruneReplicas(seenBefore: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM replicas WHERE seen_at < ?", arguments: [Self.time(seenBefore)])
            return db.changesCount
        }
    }

    public func wrappingVersion() async throws -> Int? {
        try await pool.read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT wrapping_version FROM keyring_state WHERE id = 1")) }
    }

    public func setWrappingVersion(_ version: Int, expected: Int?, at time: Date) async throws -> Bool {
        try await write { db in
            if let expected {
                try db.execute(
                    sql: "UPDATE keyring_state SET wrapping_version = ?, changed_at = ? WHERE id = 1 AND wrapping_version = ?",
                    arguments: [version, Self.time(time), expected])
            } else {
                try db.execute(
                    sql: "INSERT INTO keyring_state (id, wrapping_version, changed_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
                    arguments: [version, Self.time(time)])
            }
            return db.changesCount == 1
        }
    }
}
