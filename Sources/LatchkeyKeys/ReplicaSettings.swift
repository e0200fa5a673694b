import LatchkeyStore
import Foundation

/// Who this replica is among those sharing the store, and how often it says it is alive.
public struct ReplicaSettings: Sendable {
    /// This process: host, pid and a random part, unique per start (also its refresh-lease holder name).
    public var id: String
    /// Where this process listens (`host:port`), shown to operators in the replica list.
    public var address: String
    /// How often this replica records its heartbeat.
    public var heartbeatInterval: TimeInterval
    /// How long after its last heartbeat a replica still counts as running: five heartbeats.
    public var liveness: TimeInterval { heartbeatInterval * 5 }

    public init(id: String, address: String, heartbeatInterval: TimeInterval) {
        self.id = id
        self.address = address
        self.heartbeatInterval = heartbeatInterval
    }
}

/// What master-key rotation and the replicas' agreement read and write.
public typealias KeyringStorage = DataKeyStore & KeyringStateStore & ReplicaRegistry
