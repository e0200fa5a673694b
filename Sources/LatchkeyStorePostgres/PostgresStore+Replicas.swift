import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func recordHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws {
        try await execute(
            """
            INSERT INTO replicas (id, address, started_at, seen_at, key_fingerprints, wrapping_version)
            VALUES (\(heartbeat.id), \(heartbeat.address), \(Self.time(heartbeat.startedAt)), \(Self.time(heartbeat.seenAt)),
                \(heartbeat.encodedFingerprints), \(heartbeat.wrappingVersion))
            ON CONFLICT (id) DO UPDATE SET address = excluded.address, seen_at = excluded.seen_at,
                key_fingerprints = excluded.key_fingerprints, wrapping_version = excluded.wrapping_version
            """)
    }

    public func replicas(seenSince: Date) async throws -> [ReplicaHeartbeat] {
        try await execute(
            """
            SELECT id, address, started_at, seen_at, key_fingerprints, wrapping_version FROM replicas
            WHERE seen_at >= \(Self.time(seenSince)) ORDER BY address, id
            """
        ).map { row in
            ReplicaHeartbeat(
                id: try row.value("id"), address: try row.value("address"),
                startedAt: Date(timeIntervalSince1970: try row.value("started_at")), seenAt: Date(timeIntervalSince1970: try row.value("seen_at")),
                keyFingerprints: ReplicaHeartbeat.decodeFingerprints(try row.value("key_fingerprints")),
                wrappingVersion: try row.value("wrapping_version", as: Int.self))
        }
    }

    public func removeReplica(id: String) async throws {
        try await execute("DELETE FROM replicas WHERE id = \(id)")
    }

    public func pruneReplicas(seenBefore: Date) async throws -> Int {
        try await execute("DELETE FROM replicas WHERE seen_at < \(Self.time(seenBefore)) RETURNING id").count
    }

    public func wrappingVersion() async throws -> Int? {
        try await execute("SELECT wrapping_version FROM keyring_state WHERE id = 1").first.map { try $0.value("wrapping_version", as: Int.self) }
    }

    public func setWrappingVersion(_ version: Int, expected: Int?, at time: Date) async throws -> Bool {
        let rows: [PostgresRandomAccessRow]
        if let expected {
            rows = try await execute(
                """
                UPDATE keyring_state SET wrapping_version = \(version), changed_at = \(Self.time(time))
                WHERE id = 1 AND wrapping_version = \(expected) RETURNING id
                """)
        } else {
            rows = try await execute(
                """
                INSERT INTO keyring_state (id, wrapping_version, changed_at) VALUES (1, \(version), \(Self.time(time)))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """)
        }
        return !rows.isEmpty
    }
}
