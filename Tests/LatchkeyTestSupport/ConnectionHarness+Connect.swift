import LatchkeyConnect
import LatchkeyConnections
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyWebhooks

/// The connect flow on the harness's store, provider and clock.
extension ConnectionHarness {
    /// Latchkey at `https://lk.test`, with `return_to` allowed back to `https://app.example.test`.
    public static let connectSettings = ConnectSettings(publicURL: "https://lk.test", returnToAllowlist: ["https://app.example.test"])

    /// Saving, removing and revoking connections, as one process does (its own caches).
    public func connectionService() -> ConnectionService {
        let apps = AppDirectory(store: store, vault: vault, clock: clock)
        return ConnectionService(
            store: store, vault: vault, catalog: catalog, oauth: OAuthClient(transport: provider, now: { [clock] in clock.now }),
            setups: OAuthSetups(apps: apps, remote: nil),
            choices: CredentialChoices(store: store, cache: ConnectionCache(clock: clock), audit: AuditTrail(store: store, logger: logger), clock: clock),
            audit: AuditTrail(store: store, logger: logger), webhooks: WebhookEvents(store: store, clock: clock, wakeup: WakeSignal(), logger: logger),
            caches: ConnectionService.Caches(
                connections: ConnectionCache(clock: clock), reconnectLinks: ReconnectLinks(), agentKeys: AgentKeyCache(clock: clock),
                refresherWake: WakeSignal()),
            clock: clock)
    }

    /// The connect flow, with `settings`.
    public func connectFlow(_ settings: ConnectSettings = Self.connectSettings) -> ConnectFlow {
        ConnectFlow(connections: connectionService(), settings: settings)
    }
}
