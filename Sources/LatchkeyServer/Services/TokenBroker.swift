import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Hands out usable credentials: reuses a token while it is valid and refreshes it when it is about to expire.
///
/// Concurrent callers of one connection share one refresh (an in-flight task per connection). The write is a
/// compare-and-swap on the connection's version, so a refresher that lost a race never overwrites a newer token;
/// a rotated refresh token is stored before the new access token is handed out, and a provider that sends no
/// new refresh token keeps the old one. `invalid_grant` and `unauthorized_client` move the connection to
/// `needs_reauth`.
final class TokenBroker: Sendable {
    let services: LatchkeyServices
    /// Refresh when the token expires within this window.
    let refreshWindow: TimeInterval
    private let inFlight = Mutex<[ConnectionID: Task<(Connection, Credential), any Error>]>([:])
    /// Transient refresh failures per connection: the next attempt waits (exponential, jittered, at most a
    /// minute), whatever the traffic on the connection.
    private let backoff = Mutex<[ConnectionID: (failures: Int, notBefore: Date)]>([:])
    let maxBackoff: TimeInterval = 60

    /// Lease acquisitions and refresh endings of concurrent refreshes, each batch in one durable commit.
    private let leases: GroupCommit<ConnectionID, RefreshLease?>
    private let endings: GroupCommit<RefreshOutcome, Bool>

    init(services: LatchkeyServices, refreshWindow: TimeInterval = 300) {
        self.services = services
        self.refreshWindow = refreshWindow
        leases = GroupCommit { ids in
            let won = try await services.store.acquireRefreshLeases(
                ids, holder: services.settings.instanceID, now: services.clock.now, ttl: services.settings.refreshLeaseTTL)
            return ids.map { won[$0] }
        }
        endings = GroupCommit { outcomes in try await services.store.finishRefreshes(outcomes) }
    }

    /// A credential for `stored`, refreshed first when it expires within the window (or always when `force`).
    func credential(for stored: StoredConnection, force: Bool = false) async throws -> (Connection, Credential) {
        let connection = stored.connection
        guard let sealed = stored.sealedCredential else {
            throw LatchkeyError(.notConnected, "connection \(connection.id) has no credential yet; finish its connect flow first")
        }
        let credential = try await services.connectionCache.credential(connection.id, sealed: sealed) {
            try await services.vault.openCredential(sealed, for: connection)
        }
        guard let manifest = services.catalog.manifests[connection.provider], let spec = manifest.auth.oauth2,
            credential.refreshToken != nil
        else { return (connection, credential) }
        guard force || isDue(connection) else { return (connection, credential) }
        return try await sharedRefresh(connection.id, spec: spec, seenVersion: connection.version)
    }

    /// Whether a token is close enough to its expiry to refresh before use: within the refresh window, but never
    /// more than a quarter of its lifetime early, so a short-lived token is not refreshed on every call.
    func isDue(_ connection: Connection) -> Bool {
        guard let due = dueAt(connection) else { return false }
        return due <= services.clock.now
    }

    /// Until when a connection that keeps failing is left alone; nil when it is not backing off.
    func backingOffUntil(_ id: ConnectionID) -> Date? {
        guard let until = backoff.withLock({ $0[id]?.notBefore }), until > services.clock.now else { return nil }
        return until
    }

    /// When a connection's token falls due for refresh; nil when it never expires.
    func dueAt(_ connection: Connection) -> Date? {
        guard let expires = connection.expiresAt else { return nil }
        let lifetime = connection.lastRefreshedAt.map { expires.timeIntervalSince($0) } ?? refreshWindow * 4
        return expires.addingTimeInterval(-min(refreshWindow, max(lifetime, 0) / 4))
    }

    /// Refreshes once for every concurrent caller. A caller that saw an older version than the stored one gets
    /// the newer credential without another call to the provider.
    private func sharedRefresh(_ id: ConnectionID, spec: OAuth2Spec, seenVersion: Int) async throws -> (Connection, Credential) {
        let task = inFlight.withLock { tasks -> Task<(Connection, Credential), any Error> in
            if let running = tasks[id] { return running }
            let task = Task { [self] in
                defer { _ = inFlight.withLock { $0.removeValue(forKey: id) } }
                return try await refresh(id, spec: spec, seenVersion: seenVersion)
            }
            tasks[id] = task
            return task
        }
        return try await task.value
    }

    /// One refresh across every process sharing the store: takes the connection's refresh lease, reads the latest
    /// row, calls the provider, and writes fenced by the lease and compare-and-swap on the version.
    ///
    /// Without the lease (another process is refreshing): a token that is still valid is served as it is; an
    /// expired one waits for the holder's write, or for its lease to lapse (a holder that died), then tries again.
    private func refresh(_ id: ConnectionID, spec: OAuth2Spec, seenVersion: Int) async throws -> (Connection, Credential) {
        let waitLimit = services.clock.now.addingTimeInterval(services.settings.refreshLeaseTTL + 5)
        while true {
            if let lease = try await leases.submit(id) {
                let ending = LeaseEnding(lease)
                do {
                    let result = try await refresh(id, spec: spec, seenVersion: seenVersion, holding: ending)
                    await release(ending)
                    return result
                } catch {
                    await release(ending)
                    throw error
                }
            }
            guard let stored = try await services.store.connection(id: id), let sealed = stored.sealedCredential else {
                throw LatchkeyError(.notFound, "connection \(id) is gone")
            }
            let connection = stored.connection
            let open = { try await self.services.connectionCache.credential(id, sealed: sealed) {
                try await self.services.vault.openCredential(sealed, for: connection)
            } }
            // The holder finished: its token is the fresh one.
            if connection.version > seenVersion, connection.state == .active { return (connection, try await open()) }
            // Someone else is refreshing, and this token still works: no need to wait.
            if let expires = connection.expiresAt, expires > services.clock.now { return (connection, try await open()) }
            if connection.state == .needsReauth {
                throw LatchkeyError(.reauthRequired, "\(connection.provider) refused the refresh token; the account must be connected again")
            }
            // The last refresh failed and its process holds the others off while it backs off: say so now.
            if let lastError = connection.lastError, let lease = try await services.store.refreshLease(id),
                lease.expiresAt > services.clock.now.addingTimeInterval(1)
            {
                throw LatchkeyError(
                    .providerUnavailable,
                    "refreshing \(connection.provider) keeps failing (\(lastError)); next attempt in \(Int(lease.expiresAt.timeIntervalSince(services.clock.now).rounded(.up))) s")
            }
            guard services.clock.now < waitLimit else {
                throw LatchkeyError(
                    .providerUnavailable, "another Latchkey process has been refreshing connection \(id) for too long; try again")
            }
            try await services.clock.sleep(for: .milliseconds(100))
        }
    }

    /// Ends a lease that the refresh did not end with its write (it returned early or failed before writing).
    /// After a transient failure, other processes stay out until this one's backoff ends.
    private func release(_ ending: LeaseEnding) async {
        guard !ending.done else { return }
        ending.done = true
        let backoffEnds = backoff.withLock { $0[ending.lease.connectionID]?.notBefore }
        _ = try? await endings.submit(RefreshOutcome(
            lease: ending.lease, connection: nil, sealedCredential: nil, expectedVersion: 0, audit: nil, keepOthersOutUntil: backoffEnds))
    }

    /// Writes a refresh's result, its audit event and the lease's release in one step (batched with others).
    private func finish(_ ending: LeaseEnding, _ outcome: RefreshOutcome) async throws -> Bool {
        ending.done = true
        return try await endings.submit(outcome)
    }

    /// The refresh itself, by the holder of `ending.lease`.
    private func refresh(_ id: ConnectionID, spec: OAuth2Spec, seenVersion: Int, holding ending: LeaseEnding) async throws
        -> (Connection, Credential)
    {
        let lease = ending.lease
        guard let stored = try await services.store.connection(id: id), let sealed = stored.sealedCredential else {
            throw LatchkeyError(.notFound, "connection \(id) is gone")
        }
        var connection = stored.connection
        let old = try await services.vault.openCredential(sealed, for: connection)
        // Someone refreshed since the caller read the connection: theirs is the fresh token.
        if connection.version > seenVersion, connection.state == .active { return (connection, old) }
        // A connection that keeps failing is not retried before its backoff ends.
        if let wait = backoff.withLock({ $0[id] }), wait.notBefore > services.clock.now {
            if let expires = connection.expiresAt, expires > services.clock.now { return (connection, old) }
            throw LatchkeyError(
                .providerUnavailable,
                "refreshing \(connection.provider) keeps failing (\(connection.lastError ?? "unknown")); next attempt in \(Int(wait.notBefore.timeIntervalSince(services.clock.now).rounded(.up))) s")
        }
        guard let refreshToken = old.refreshToken else { return (connection, old) }
        guard let (_, app) = try await AppDirectory(services: services).resolve(provider: connection.provider, for: connection.owner) else {
            throw LatchkeyError(.appNotConfigured, "no OAuth app of \(connection.provider) is registered for \(connection.owner)")
        }
        let now = services.clock.now
        do {
            let grant = try await services.oauth.refresh(spec: spec, app: app, refreshToken: refreshToken, config: connection.config)
            var credential = grant.credential
            credential.refreshToken = grant.refreshToken ?? refreshToken
            let expected = connection.version
            var lifecycle = ConnectionLifecycle(connection.state)
            connection.state = (try? lifecycle.apply(.refreshed)) ?? connection.state
            connection.expiresAt = grant.expiresAt
            connection.lastRefreshedAt = now
            connection.lastError = nil
            connection.updatedAt = now
            if let scopes = grant.scopes { connection.scopesGranted = scopes }
            let newSealed = try await services.vault.sealCredential(credential, for: connection)
            let event = AuditEvent(
                at: now, actor: "system", action: "connection.refreshed", owner: connection.owner, provider: connection.provider,
                connectionID: id)
            guard try await finish(ending, RefreshOutcome(
                lease: lease, connection: connection, sealedCredential: newSealed, expectedVersion: expected, audit: event,
                keepOthersOutUntil: nil))
            else {
                // Someone else wrote first (an admin, or a process that took over a lapsed lease); theirs is newer.
                guard let latest = try await services.store.connection(id: id), let latestSealed = latest.sealedCredential else {
                    throw LatchkeyError(.notFound, "connection \(id) is gone")
                }
                return (latest.connection, try await services.vault.openCredential(latestSealed, for: latest.connection))
            }
            services.connectionCache.connectionWritten(id)
            services.metrics.refresh(provider: connection.provider, outcome: "success")
            connection.version = expected + 1
            await services.webhooks.refreshed(from: stored.connection, to: connection)
            _ = backoff.withLock { $0.removeValue(forKey: id) }
            return (connection, credential)
        } catch let error as LatchkeyError {
            let final = error.oauthError.map { OAuthErrorCode($0).endsTheGrant } ?? false
            let expected = connection.version
            var lifecycle = ConnectionLifecycle(connection.state)
            if final {
                connection.state = (try? lifecycle.apply(.refreshRejected)) ?? connection.state
            } else if let expires = connection.expiresAt, expires <= now {
                connection.state = (try? lifecycle.apply(.refreshFailedAfterExpiry)) ?? connection.state
            }
            connection.lastError = error.oauthError ?? error.code.rawValue
            connection.updatedAt = now
            // Transient: back off (1, 2, 4 … 60 s, with jitter) and keep serving the old token while it is valid.
            // The lease keeps every other process out until the backoff ends.
            services.metrics.refresh(provider: connection.provider, outcome: final ? "rejected" : "transient_failure")
            let backoffEnds: Date? = final ? nil : backoff.withLock { table in
                let failures = (table[id]?.failures ?? 0) + 1
                let delay = min(maxBackoff, pow(2, Double(failures - 1))) * Double.random(in: 0.8...1.0)
                table[id] = (failures, now.addingTimeInterval(delay))
                return now.addingTimeInterval(delay)
            }
            let event = AuditEvent(
                at: now, actor: "system", action: "connection.refresh_failed", owner: connection.owner,
                provider: connection.provider, connectionID: id, outcome: "failure", detail: connection.lastError)
            if (try? await finish(ending, RefreshOutcome(
                lease: lease, connection: connection, sealedCredential: sealed, expectedVersion: expected, audit: event,
                keepOthersOutUntil: backoffEnds))) == true
            {
                services.connectionCache.connectionWritten(id)
            }
            await services.webhooks.refreshFailed(from: stored.connection, to: connection)
            if final {
                throw LatchkeyError(.reauthRequired, "\(connection.provider) refused the refresh token; the account must be connected again")
            }
            if let expires = connection.expiresAt, expires > now { return (connection, old) }
            throw error
        }
    }
}

/// A refresh lease and whether it has been ended (by the refresh's own write, or a plain release).
final class LeaseEnding {
    let lease: RefreshLease
    var done = false
    init(_ lease: RefreshLease) { self.lease = lease }
}
