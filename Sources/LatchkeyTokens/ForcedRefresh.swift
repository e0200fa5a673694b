import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// A refresh an admin asks for, now, whatever the token's expiry. Audited as `connection.refresh_forced`.
public struct ForcedRefresh: Sendable {
    let catalog: ProviderCatalog
    let broker: TokenBroker
    let audit: AuditTrail
    let clock: any LatchkeyClock

    public init(catalog: ProviderCatalog, broker: TokenBroker, audit: AuditTrail, clock: any LatchkeyClock) {
        self.catalog = catalog
        self.broker = broker
        self.audit = audit
        self.clock = clock
    }

    /// Refreshes `stored` and returns the connection. Throws `provider_unavailable` when the refresh did not happen.
    public func run(_ stored: StoredConnection) async throws -> Connection {
        guard catalog.manifests[stored.connection.provider]?.auth.usesOAuthTokens == true else {
            throw LatchkeyError(.invalidRequest, "id: \(stored.connection.provider) does not use OAuth tokens", field: "id")
        }
        let (connection, credential) = try await broker.credential(for: stored, force: true)
        guard credential.refreshToken != nil else {
            throw LatchkeyError(.invalidRequest, "id: connection \(connection.id) has no refresh token", field: "id")
        }
        // A transient failure keeps the old token in use (and records last_error); the admin asked for a refresh,
        // so say it did not happen.
        let failure = connection.lastError
        await audit.record(AuditEvent(
            at: clock.now, actor: .admin, action: .connectionRefreshForced, owner: connection.owner,
            provider: connection.provider, connectionID: connection.id, outcome: failure == nil ? "success" : "failure",
            detail: failure))
        if let failure {
            throw LatchkeyError(
                .providerUnavailable,
                "the forced refresh of \(connection.id) failed (\(failure)); the current token stays in use while it is valid")
        }
        return connection
    }
}
