import Foundation
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyObservability
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyWebhooks
import Synchronization

/// Hands out usable credentials: reuses a token while it is valid and refreshes it when it is about to expire.
///
/// Concurrent callers of one connection share one refresh (an in-flight task per connection); each refresh follows
/// ``RefreshMachine`` across every process sharing the store. The write is a compare-and-swap on the connection's
/// version fenced by the refresh lease, so a refresher that lost a race never overwrites a newer token; a rotated
/// refresh token is stored before the new access token is handed out, and a provider that sends no new refresh
/// token keeps the old one. `invalid_grant` and `unauthorized_client` move the connection to `needs_reauth`.
public final class TokenBroker: Sendable {
    /// What the broker reads from the configuration.
    public struct Settings: Sendable {
        /// This process, as a refresh-lease holder.
        public var holder: String
        /// How long this process may hold a connection's refresh lease; longer than a token call.
        public var leaseTTL: TimeInterval
        /// Refresh when the token expires within this window.
        public var refreshWindow: TimeInterval = 300
        /// The longest backoff between attempts at a connection that keeps failing.
        public var maxBackoff: TimeInterval = 60

        public init(holder: String, leaseTTL: TimeInterval) {
            self.holder = holder
            self.leaseTTL = leaseTTL
        }
    }

    let store: any ConnectionStore & RefreshLeaseStore
    let vault: CredentialVault
    let catalog: ProviderCatalog
    let oauth: OAuthClient
    /// The provider's settings and Latchkey's client there, as the connection's connect flow used them.
    let setups: OAuthSetups
    let cache: ConnectionCache
    let webhooks: WebhookEvents
    let metrics: LatchkeyMetrics
    let clock: any LatchkeyClock
    public let settings: Settings
    /// A number in 0...1 for the backoff's jitter.
    let random: @Sendable () -> Double

    private let inFlight = Mutex<[ConnectionID: Task<(Connection, Credential), any Error>]>([:])
    private let backoff: Mutex<RefreshBackoff>
    /// Lease acquisitions and refresh endings of concurrent refreshes, each batch in one durable commit.
    private let leases: GroupCommit<ConnectionID, RefreshLease?>
    private let endings: GroupCommit<RefreshOutcome, Bool>

    public init(
        store: any ConnectionStore & RefreshLeaseStore, vault: CredentialVault, catalog: ProviderCatalog, oauth: OAuthClient,
        setups: OAuthSetups, cache: ConnectionCache, webhooks: WebhookEvents, metrics: LatchkeyMetrics, clock: any LatchkeyClock,
        settings: Settings, random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.store = store
        self.vault = vault
        self.catalog = catalog
        self.oauth = oauth
        self.setups = setups
        self.cache = cache
        self.webhooks = webhooks
        self.metrics = metrics
        self.clock = clock
        self.settings = settings
        self.random = random
        backoff = Mutex(RefreshBackoff(maxDelay: settings.maxBackoff))
        leases = GroupCommit { ids in
            let won = try await store.acquireRefreshLeases(ids, holder: settings.holder, now: clock.now, ttl: settings.leaseTTL)
            return ids.map { won[$0] }
        }
        endings = GroupCommit { outcomes in try await store.finishRefreshes(outcomes) }
    }

    /// Refresh when the token expires within this window.
    public var refreshWindow: TimeInterval { settings.refreshWindow }

    /// A credential for `stored`, refreshed first when it expires within the window (or always when `force`).
    public func credential(for stored: StoredConnection, force: Bool = false) async throws -> (Connection, Credential) {
        let connection = stored.connection
        guard let sealed = stored.sealedCredential else {
            throw LatchkeyError(.notConnected, "connection \(connection.id) has no credential yet; finish its connect flow first")
        }
        let credential = try await open(sealed, of: connection)
        // A credential with no refresh token (an API key, say) never refreshes: its manifest is not looked up.
        guard credential.refreshToken != nil, let manifest = catalog.manifests[connection.provider], manifest.auth.usesOAuthTokens
        else { return (connection, credential) }
        guard force || isDue(connection) else { return (connection, credential) }
        return try await sharedRefresh(connection.id, manifest: manifest, seenVersion: connection.version)
    }

    /// Whether a token is close enough to its expiry to refresh before use: within the refresh window, but never
    /// more than a quarter of its lifetime early, so a short-lived token is not refreshed on every call.
    public func isDue(_ connection: Connection) -> Bool {
        guard let due = dueAt(connection) else { return false }
        return due <= clock.now
    }

    /// Until when a connection that keeps failing is left alone; nil when it is not backing off.
    public func backingOffUntil(_ id: ConnectionID) -> Date? {
        let now = clock.now
        return backoff.withLock { $0.until(id, now: now) }
    }

    /// When a connection's token falls due for refresh; nil when it never expires.
    public func dueAt(_ connection: Connection) -> Date? {
        guard let expires = connection.expiresAt else { return nil }
        let window = settings.refreshWindow
        let lifetime = connection.lastRefreshedAt.map { expires.timeIntervalSince($0) } ?? window * 4
        return expires.addingTimeInterval(-min(window, max(lifetime, 0) / 4))
    }

    private func open(_ sealed: [UInt8], of connection: Connection) async throws -> Credential {
        try await cache.credential(connection.id, sealed: sealed) { try await vault.openCredential(sealed, for: connection) }
    }

    /// Refreshes once for every concurrent caller in this process.
    private func sharedRefresh(_ id: ConnectionID, manifest: ProviderManifest, seenVersion: Int) async throws -> (Connection, Credential) {
        let task = inFlight.withLock { tasks -> Task<(Connection, Credential), any Error> in
            if let running = tasks[id] { return running }
            let task = Task { [self] in
                defer { _ = inFlight.withLock { $0.removeValue(forKey: id) } }
                return try await refresh(id, manifest: manifest, seenVersion: seenVersion)
            }
            tasks[id] = task
            return task
        }
        return try await task.value
    }

    /// One refresh, step by step as ``RefreshMachine`` decides.
    private func refresh(_ id: ConnectionID, manifest: ProviderManifest, seenVersion: Int) async throws -> (Connection, Credential) {
        var machine = RefreshMachine(connectionID: id, seenVersion: seenVersion, waitLimit: clock.now.addingTimeInterval(settings.leaseTTL + 5))
        var lease: LeaseEnding?
        var latest: (stored: StoredConnection, credential: Credential)?
        var grant: TokenGrant?
        var action = machine.start()
        do {
            while true {
                switch action {
                case .takeLease:
                    lease = try await leases.submit(id).map(LeaseEnding.init)
                    action = machine.leaseAnswered(taken: lease != nil)
                case .readLatest:
                    latest = try await read(id)
                    let row = latest?.stored.connection
                    let othersLease = machine.holdsLease || row?.lastError == nil ? nil : try await store.refreshLease(id)?.expiresAt
                    action = machine.latestRead(
                        row, hasRefreshToken: latest?.credential.refreshToken != nil, backoffUntil: backingOffUntil(id),
                        leaseExpiresAt: othersLease, now: clock.now)
                case .wait(let pause):
                    try await clock.sleep(for: pause)
                    action = machine.waited()
                case .callProvider:
                    guard let (stored, old) = latest, let refreshToken = old.refreshToken else { preconditionFailure("called without a row") }
                    (action, grant) = try await callProvider(stored.connection, manifest: manifest, refreshToken: refreshToken, machine: &machine)
                case .writeRefreshed(let row):
                    guard let (stored, old) = latest, let grant else { preconditionFailure("wrote without a row and a grant") }
                    var credential = grant.credential
                    // A provider that sends no new refresh token keeps the old one valid (RFC 6749 §6).
                    credential.refreshToken = grant.refreshToken ?? old.refreshToken
                    let won = try await write(refreshed: row, credential: credential, from: stored, lease: lease!)
                    action = machine.written(won: won)
                    if won { return (Self.advanced(row), credential) }
                case .writeFailure(let row, let transient, let then):
                    guard let (stored, old) = latest else { preconditionFailure("wrote without a row") }
                    await write(failure: row, from: stored, transient: transient, lease: lease!)
                    switch then {
                    case .useOld: return (row, old)
                    case .fail(let error): throw error
                    }
                case .useLatest:
                    await release(lease)
                    guard let (stored, credential) = latest else { preconditionFailure("used without a row") }
                    return (stored.connection, credential)
                case .useWhateverIsStored:
                    guard let (stored, credential) = try await read(id) else { throw LatchkeyError(.notFound, "connection \(id) is gone") }
                    return (stored.connection, credential)
                case .useRefreshed:
                    preconditionFailure("handled with the write")
                case .giveUp(let error):
                    throw error
                }
            }
        } catch {
            await release(lease)
            throw error
        }
    }

    /// The connection's latest row and its opened credential; nil when the row or its credential is gone.
    private func read(_ id: ConnectionID) async throws -> (stored: StoredConnection, credential: Credential)? {
        guard let stored = try await store.connection(id: id), let sealed = stored.sealedCredential else { return nil }
        return (stored, try await open(sealed, of: stored.connection))
    }

    /// Calls the provider's token endpoint on the app that issued the connection's tokens: the platform's for a
    /// managed connection, else the nearest of the connection's owner (for a remote MCP server without one, the
    /// client Latchkey registered there). A remote server whose metadata cannot be read fails like its token endpoint.
    private func callProvider(
        _ row: Connection, manifest: ProviderManifest, refreshToken: String, machine: inout RefreshMachine
    ) async throws -> (RefreshMachine.Action, TokenGrant?) {
        let setup: OAuthSetup?
        do {
            setup = try await setups.setup(for: manifest, owner: row.owner, source: row.credentials)
        } catch {
            let failure = error as? LatchkeyError ?? LatchkeyError(.providerUnavailable, "\(row.provider): its OAuth settings cannot be read")
            return (machine.refreshFailed(row, error: failure, now: clock.now), nil)
        }
        guard let setup else {
            throw LatchkeyError(.appNotConfigured, "no OAuth app of \(row.provider) is registered for \(row.owner)")
        }
        do {
            let grant = try await oauth.refresh(spec: setup.spec, app: setup.credentials, refreshToken: refreshToken, config: row.config)
            return (machine.refreshed(row, expiresAt: grant.expiresAt, scopes: grant.scopes, now: clock.now), grant)
        } catch {
            return (machine.refreshFailed(row, error: error, now: clock.now), nil)
        }
    }

    /// Writes a refreshed row with its new credential, its audit event and the lease's end in one step; whether the
    /// write won the compare-and-swap.
    private func write(refreshed row: Connection, credential: Credential, from stored: StoredConnection, lease: LeaseEnding) async throws -> Bool {
        let sealed = try await vault.sealCredential(credential, for: row)
        let event = AuditEvent(
            at: clock.now, actor: .system, action: .connectionRefreshed, owner: row.owner, provider: row.provider, connectionID: row.id)
        lease.done = true
        let won = try await endings.submit(RefreshOutcome(
            lease: lease.lease, connection: row, sealedCredential: sealed, expectedVersion: stored.connection.version, audit: event,
            keepOthersOutUntil: nil))
        guard won else { return false }
        cache.connectionWritten(row.id)
        metrics.refresh(provider: row.provider, outcome: "success")
        await webhooks.refreshed(from: stored.connection, to: Self.advanced(row))
        backoff.withLock { $0.succeeded(row.id) }
        return true
    }

    /// Records a failed refresh (the old credential kept) and, when transient, backs off: other processes stay out
    /// until this one's backoff ends.
    private func write(failure row: Connection, from stored: StoredConnection, transient: Bool, lease: LeaseEnding) async {
        let now = clock.now
        let backoffEnds: Date? = transient ? backoff.withLock { $0.failed(row.id, now: now, random: random()) } : nil
        metrics.refresh(provider: row.provider, outcome: transient ? "transient_failure" : "rejected")
        let event = AuditEvent(
            at: now, actor: .system, action: .connectionRefreshFailed, owner: row.owner, provider: row.provider,
            connectionID: row.id, outcome: "failure", detail: row.lastError)
        lease.done = true
        if (try? await endings.submit(RefreshOutcome(
            lease: lease.lease, connection: row, sealedCredential: stored.sealedCredential, expectedVersion: stored.connection.version,
            audit: event, keepOthersOutUntil: backoffEnds))) == true
        {
            cache.connectionWritten(row.id)
        }
        await webhooks.refreshFailed(from: stored.connection, to: row)
    }

    /// Ends a lease that the refresh did not end with a write (it returned early or failed before writing).
    /// After a transient failure, other processes stay out until this one's backoff ends.
    private func release(_ ending: LeaseEnding?) async {
        guard let ending, !ending.done else { return }
        ending.done = true
        let backoffEnds = backoff.withLock { $0.recorded(ending.lease.connectionID) }
        _ = try? await endings.submit(RefreshOutcome(
            lease: ending.lease, connection: nil, sealedCredential: nil, expectedVersion: 0, audit: nil, keepOthersOutUntil: backoffEnds))
    }

    /// A written row as the store now holds it: one version on.
    static func advanced(_ row: Connection) -> Connection {
        var row = row
        row.version += 1
        return row
    }
}

/// A refresh lease and whether it has been ended (by the refresh's own write, or a plain release).
final class LeaseEnding {
    let lease: RefreshLease
    var done = false
    init(_ lease: RefreshLease) { self.lease = lease }
}
