import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging
import ServiceLifecycle

/// Tells the store, every heartbeat interval, that this replica runs and which master keys it holds (see
/// ``KeyringCoordinator``); removes its row on graceful shutdown, and forgets replicas gone for a day.
public struct ReplicaPresence: Service {
    let coordinator: KeyringCoordinator

    public init(coordinator: KeyringCoordinator) { self.coordinator = coordinator }

    var store: any KeyringStorage { coordinator.store }
    var clock: any LatchkeyClock { coordinator.clock }
    var logger: Logger { coordinator.logger }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastPrune = Date.distantPast
            while !Task.isCancelled {
                do {
                    try await coordinator.beat()
                    if clock.now.timeIntervalSince(lastPrune) > 3600 {
                        lastPrune = clock.now
                        _ = try await store.pruneReplicas(seenBefore: clock.now.addingTimeInterval(-86_400))
                    }
                } catch {
                    logger.error("replica heartbeat failed", metadata: ["code": "\((error as? LatchkeyError)?.code.rawValue ?? String(describing: type(of: error)))"])
                }
                try await clock.sleep(for: .interval(coordinator.replica.heartbeatInterval))
            }
        }
        try? await store.removeReplica(id: coordinator.replicaID)
    }
}
