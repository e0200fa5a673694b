import Foundation
import LatchkeyModel
import ServiceLifecycle

/// Tells the store, every heartbeat interval, that this replica runs and which master keys it holds (see
/// ``KeyringCoordinator``); removes its row on graceful shutdown, and forgets replicas gone for a day.
struct ReplicaPresence: Service {
    let coordinator: KeyringCoordinator

    var services: LatchkeyServices { coordinator.services }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastPrune = Date.distantPast
            while !Task.isCancelled {
                do {
                    try await coordinator.beat()
                    if services.now().timeIntervalSince(lastPrune) > 3600 {
                        lastPrune = services.now()
                        _ = try await services.store.pruneReplicas(seenBefore: services.now().addingTimeInterval(-86_400))
                    }
                } catch {
                    services.logger.error("replica heartbeat failed", metadata: ["code": "\((error as? LatchkeyError)?.code.rawValue ?? String(describing: type(of: error)))"])
                }
                try await Task.sleep(for: .milliseconds(Int(services.settings.replicaHeartbeatInterval * 1000)))
            }
        }
        try? await services.store.removeReplica(id: coordinator.replicaID)
    }
}
