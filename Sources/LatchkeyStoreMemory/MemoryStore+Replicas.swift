import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: ReplicaRegistry {
    public func recordHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws {
        locked { state in
            // A replica's row keeps the start time of its first heartbeat, as the engines' upsert does.
            var row = heartbeat
            if let known = state.replicas[heartbeat.id] { row.startedAt = known.startedAt }
            state.replicas[heartbeat.id] = row
        }
    }

    public func replicas(seenSince: Date) async throws -> [ReplicaHeartbeat] {
        locked { state in
            state.replicas.values.filter { $0.seenAt >= seenSince }
                .sorted { (ByteOrder($0.address), ByteOrder($0.id)) < (ByteOrder($1.address), ByteOrder($1.id)) }
        }
    }

    public func removeReplica(id: String) async throws {
        locked { $0.replicas[id] = nil }
    }

    public func pruneReplicas(seenBefore: Date) async throws -> Int {
        locked { $0.replicas.removeAll { $0.seenAt < seenBefore } }
    }
}
