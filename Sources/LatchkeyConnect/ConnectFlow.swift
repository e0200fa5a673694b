import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// The authorization-code flow a person runs from a connect link, and the API-key form.
///
/// `createSession` makes the link; `begin` sends the browser to the provider with a one-time `state`
/// and PKCE S256; `complete` checks the callback, exchanges the code, looks up the account and saves
/// the sealed credential. RFC 9700 rules apply throughout: one exact redirect URI, state bound to the
/// session and to the browser, `iss` checked where the manifest names an issuer.
public struct ConnectFlow: Sendable {
    /// Saves what a flow finishes; its store, vault, catalog, OAuth client, apps, audit trail and clock are the flow's.
    let connections: ConnectionService
    let settings: ConnectSettings

    public init(connections: ConnectionService, settings: ConnectSettings) {
        self.connections = connections
        self.settings = settings
    }

    var store: any ConnectionStorage { connections.store }
    var vault: CredentialVault { connections.vault }
    var catalog: ProviderCatalog { connections.catalog }
    var oauth: OAuthClient { connections.oauth }
    var audit: AuditTrail { connections.audit }
    var reconnectLinks: ReconnectLinks { connections.caches.reconnectLinks }
    var clock: any LatchkeyClock { connections.clock }

    // MARK: sessions

    /// Creates a single-use connect link for `owner`, valid for the configured TTL (15 minutes by default).
    public func createSession(
        provider: ProviderManifest, owner: OwnerRef, reconnect: String?, extraScopes: [String], returnTo: String?, caller: Caller
    ) async throws -> (url: String, expiresAt: Date) {
        // A person connects for an owner on a chain; the platform owns only apps and API keys an admin enters.
        _ = try owner.refusingPlatform()
        try connections.authorize(caller, actFor: owner)
        try await connections.requireOwner(owner)
        if let returnTo { try checkReturnTo(returnTo) }
        if provider.auth == .none {
            throw LatchkeyError(.invalidRequest, "provider: \(provider.id) needs no credential; install it instead", field: "provider")
        }
        var reconnectID: ConnectionID?
        if let reconnect {
            guard let stored = try await store.connection(id: ConnectionID(rawValue: reconnect)),
                stored.connection.owner == owner, stored.connection.provider == provider.id
            else {
                throw LatchkeyError(.notFound, "connection_id: no connection '\(reconnect.prefix(64))' of \(provider.id) for \(owner)", field: "connection_id")
            }
            reconnectID = stored.connection.id
        }
        for scope in extraScopes where scope.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw LatchkeyError(.invalidRequest, "scopes: '\(scope.prefix(40))' contains whitespace or control characters", field: "scopes")
        }
        return try await storeSession(
            provider: provider.id, owner: owner, reconnect: reconnectID, extraScopes: extraScopes, returnTo: returnTo, caller: caller)
    }

    /// A link that reconnects `connection`, for a caller that just found it needing a person (a 424's body). The
    /// caller may use the connection, which is all a reconnect link lets a person do for it; a user's connection
    /// gets no link, since only an admin may vouch for a person. One link is reused while it has a minute left.
    public func reconnectLink(for connection: Connection, caller: Caller) async -> (url: String, expiresAt: Date)? {
        if connection.owner.kind == .user, caller != .admin { return nil }
        let now = clock.now
        if let cached = reconnectLinks.link(for: connection.id, now: now) { return cached }
        guard let link = try? await storeSession(
            provider: connection.provider, owner: connection.owner, reconnect: connection.id, extraScopes: [], returnTo: nil,
            caller: caller)
        else { return nil }
        reconnectLinks.remember(link, for: connection.id)
        return link
    }

    private func storeSession(
        provider: ProviderID, owner: OwnerRef, reconnect reconnectID: ConnectionID?, extraScopes: [String], returnTo: String?, caller: Caller
    ) async throws -> (url: String, expiresAt: Date) {
        let token = "cs_" + RandomToken.base64URL(bytes: 32)
        let now = clock.now
        let expiresAt = now.addingTimeInterval(settings.linkTTL)
        // A link for a new connection is bound to the install waiting for it, so it dies when the integration is removed.
        let installID = reconnectID != nil
            ? nil : try await store.connections(owners: [owner], provider: provider).first { $0.state == .installed }?.id
        try await store.createSession(ConnectSession(
            tokenHash: SecretHash.sha256Hex(token), provider: provider, owner: owner, connectionID: reconnectID, installID: installID,
            extraScopes: extraScopes, returnTo: returnTo, createdBy: caller.actorName, createdAt: now, expiresAt: expiresAt))
        await audit.record(AuditEvent(
            at: now, actor: AuditActor(caller), action: .connectSessionCreated, owner: owner, provider: provider,
            connectionID: reconnectID))
        return (settings.publicURL + "/connect/" + token, expiresAt)
    }

    /// `return_to` must be an absolute http(s) URL whose origin is on the allowlist (no open redirect).
    public func checkReturnTo(_ url: String) throws(LatchkeyError) {
        guard let origin = Origin.of(url), settings.returnToAllowlist.contains(origin),
            !url.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "\\") })
        else {
            throw LatchkeyError(
                .returnToNotAllowed, "return_to: '\(url.prefix(100))' is not on the return_to allowlist", field: "return_to")
        }
    }

    /// The live session behind a link token, or the reason it cannot be used.
    public func liveSession(token: String) async throws -> ConnectSession {
        guard token.hasPrefix("cs_"), let session = try await store.session(tokenHash: SecretHash.sha256Hex(token)) else {
            throw LatchkeyError(.notFound, "this connect link is unknown")
        }
        try await requireLive(session)
        return session
    }

    /// A link works once, until it expires, and only while what it was made for still stands: the connection it
    /// reconnects or the install it completes (not revoked or removed), and its owner and every owner above it (not
    /// revoked since the link was made). Otherwise `session_used`, `session_expired` or `session_revoked` (410).
    public func requireLive(_ session: ConnectSession) async throws {
        if session.usedAt != nil { throw LatchkeyError(.sessionUsed, "this connect link was already used") }
        if session.expiresAt <= clock.now { throw LatchkeyError(.sessionExpired, "this connect link has expired") }
        guard try await store.ownerExists(session.owner) else {
            throw LatchkeyError(.sessionRevoked, "this connect link was revoked: \(session.owner) no longer exists")
        }
        let chain = Array(sequence(first: session.owner, next: \.parent))
        if let revokedAt = try await store.latestRevocation(of: chain), revokedAt >= session.createdAt {
            throw LatchkeyError(.sessionRevoked, "this connect link was revoked: \(session.owner) or an owner above it was revoked")
        }
        for id in [session.connectionID, session.installID].compactMap({ $0 }) {
            guard let stored = try await store.connection(id: id), stored.connection.state != .revoked else {
                throw LatchkeyError(.sessionRevoked, "this connect link was revoked: its connection was revoked or removed")
            }
        }
    }

    /// The account a reconnect link must be finished with, for the connect page; nil when any account will do.
    public func expectedAccount(_ session: ConnectSession) async throws -> AccountIdentity? {
        guard let id = session.connectionID else { return nil }
        return try await store.connection(id: id)?.connection.account
    }

    /// The scopes a session asks: the app's configured scopes or the provider's defaults, plus the session's extras.
    public func scopes(for session: ConnectSession, setup: OAuthSetup) -> [String] {
        let configured = setup.app?.scopes ?? []
        var scopes = configured.isEmpty ? setup.spec.scopes : configured
        for extra in session.extraScopes where !scopes.contains(extra) { scopes.append(extra) }
        return scopes
    }

    /// Checks the `connection_config` values a person typed against the manifest.
    public func validatedConfig(_ manifest: ProviderManifest, _ given: [String: String]) throws(LatchkeyError) -> [String: String] {
        var values: [String: String] = [:]
        for field in manifest.connectionConfig {
            let raw = given[field.name].flatMap { $0.isEmpty ? nil : $0 } ?? field.defaultValue
            guard let raw else { throw LatchkeyError(.invalidRequest, "\(field.name): required", field: field.name) }
            guard field.accepts(raw) else {
                throw LatchkeyError(.invalidRequest, "\(field.name): '\(raw.prefix(80))' does not match \(field.pattern)", field: field.name)
            }
            values[field.name] = raw
        }
        return values
    }

    // MARK: OAuth

    /// The scopes the connect page shows for an OAuth `session`: those its flow would ask. Throws `app_not_configured`
    /// when the flow has no app (or, for a remote MCP server, no pre-registered app and no way to be a client there).
    /// A remote MCP server's client is registered only when the person starts the flow.
    public func pageScopes(for session: ConnectSession) async throws -> [String] {
        let manifest = try catalog.manifest(session.provider.rawValue)
        let found = try await connections.flowSetup(provider: manifest, owner: session.owner, install: session.installID)
        if let (_, setup) = found { return scopes(for: session, setup: setup) }
        if let spec = try await connections.setups.remoteSpec(for: manifest) {
            return scopes(for: session, setup: OAuthSetup(spec: spec, app: nil, credentials: AppCredentials(clientID: "", clientSecret: nil)))
        }
        throw LatchkeyError(.appNotConfigured, "\(manifest.name) is not set up yet: no OAuth app is registered for \(session.owner)")
    }

    /// Starts the authorization-code flow: a fresh `state` (256 random bits, single use, 10-minute TTL, bound to the
    /// session and to this browser) and, unless the manifest turns it off, PKCE S256 with the verifier sealed.
    /// `session` is live (from `liveSession`), read once by the caller.
    public func begin(session: ConnectSession, config given: [String: String]) async throws -> BrowserRedirect {
        let manifest = try catalog.manifest(session.provider.rawValue)
        guard manifest.auth.usesOAuthTokens else {
            throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) does not use OAuth", field: "provider")
        }
        let config = try validatedConfig(manifest, given)
        guard let (_, setup) = try await connections.flowSetup(
            provider: manifest, owner: session.owner, install: session.installID, registering: true)
        else {
            throw LatchkeyError(.appNotConfigured, "no OAuth app of \(manifest.name) is registered for \(session.owner) or above it")
        }
        let (spec, credentials) = (setup.spec, setup.credentials)
        let state = RandomToken.base64URL(bytes: 32)
        let stateHash = SecretHash.sha256Hex(state)
        let pkce = spec.pkce ? PKCE() : nil
        let nonce = RandomToken.base64URL(bytes: 32)
        let scopes = scopes(for: session, setup: setup)
        let now = clock.now
        let sealedVerifier = try await pkce.asyncMap {
            try await vault.seal(Array($0.verifier.utf8), binding: Self.verifierBinding(stateHash, session))
        }
        try await store.createState(AuthorizationState(
            stateHash: stateHash, sessionTokenHash: session.tokenHash, provider: manifest.id, owner: session.owner,
            sealedVerifier: sealedVerifier, browserBindingHash: SecretHash.sha256Hex(nonce), scopes: scopes, config: config,
            createdAt: now, expiresAt: now.addingTimeInterval(settings.stateTTL)))
        let url = try AuthorizationRequest.url(
            spec: spec, clientID: credentials.clientID, redirectURI: settings.callbackURL, scopes: scopes, state: state,
            pkce: pkce, config: config)
        await audit.record(AuditEvent(
            at: now, actor: .browser, action: .connectStarted, owner: session.owner, provider: manifest.id))
        return BrowserRedirect(location: url, bindingCookieName: Self.bindingCookieName(stateHash), bindingNonce: nonce)
    }

    static func verifierBinding(_ stateHash: String, _ session: ConnectSession) -> SealBinding {
        SealBinding(purpose: "pkce_verifier", rowID: stateHash, owner: session.owner, provider: session.provider)
    }

    /// One cookie per flow, so two flows in one browser do not clobber each other.
    public static func bindingCookieName(_ stateHash: String) -> String { "lk_flow_" + stateHash.prefix(16) }

}

/// The proxy asks the connect flow for reconnect links.
extension ConnectFlow: ReconnectLinkSource {}
