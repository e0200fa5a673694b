import Logging

/// Appends to the audit log for the flows: a failure to audit is logged (with the action only) and never fails
/// the flow or reaches its caller.
public struct AuditTrail: Sendable {
    let store: any AuditStore
    let logger: Logger

    public init(store: any AuditStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Appends `event`; logs and carries on when the store refuses it.
    public func record(_ event: AuditEvent) async {
        do { try await store.append(event) } catch {
            logger.error("audit append failed", metadata: ["action": "\(event.action)"])
        }
    }
}
