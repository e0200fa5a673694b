import Foundation
import LatchkeyModel

/// What one running replica last said about itself: where it listens and which master keys it holds.
public struct ReplicaHeartbeat: Sendable, Equatable {
    /// Unique per process start: `host:pid:random`, the same as its refresh-lease holder name.
    public var id: String
    /// Where operators find it (`host:port`, and the host name). Informational only.
    public var address: String
    public var startedAt: Date
    public var seenAt: Date
    /// A public fingerprint of each master-key version it has loaded (see `MasterKeyring.fingerprint(version:)`).
    public var keyFingerprints: [Int: String]
    /// The master-key version it wraps new data keys under.
    public var wrappingVersion: Int

    public init(id: String, address: String, startedAt: Date, seenAt: Date, keyFingerprints: [Int: String], wrappingVersion: Int) {
        self.id = id
        self.address = address
        self.startedAt = startedAt
        self.seenAt = seenAt
        self.keyFingerprints = keyFingerprints
        self.wrappingVersion = wrappingVersion
    }
}

/// The replicas sharing this store, each heard from every few seconds, so one replica can tell whether every
/// other one is ready for a master-key change.
///
/// Contract:
/// - `recordHeartbeat` inserts or replaces the replica's row (by id).
/// - `replicas(seenSince:)` lists those whose last heartbeat is at or after the time, by address then id.
/// - `removeReplica` and `pruneReplicas(seenBefore:)` delete rows; deleting a missing row is not an error.
public protocol ReplicaRegistry: Sendable {
    func recordHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws
    func replicas(seenSince: Date) async throws -> [ReplicaHeartbeat]
    func removeReplica(id: String) async throws
    /// Removes replicas not heard from since `seenBefore`; returns how many.
    func pruneReplicas(seenBefore: Date) async throws -> Int
}

extension ReplicaHeartbeat {
    /// `1:fingerprint,2:fingerprint`, as stored.
    public var encodedFingerprints: String {
        keyFingerprints.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }

    /// The fingerprints of a stored `1:fingerprint,2:fingerprint`; malformed entries are skipped.
    public static func decodeFingerprints(_ text: String) -> [Int: String] {
        text.split(separator: ",").reduce(into: [Int: String]()) { all, entry in
            let parts = entry.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let version = Int(parts[0]) { all[version] = String(parts[1]) }
        }
    }
}
