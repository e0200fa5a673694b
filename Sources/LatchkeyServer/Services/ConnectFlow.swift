import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyProxy
import LatchkeyStore

/// The authorization-code flow a person runs from a connect link, and the API-key form.
///
/// `createSession` makes the link; `begin` sends the browser to the provider with a one-time `state`
/// and PKCE S256; `complete` checks the callback, exchanges the code, looks up the account and saves
/// the sealed credential. RFC 9700 rules apply throughout: one exact redirect URI, state bound to the
/// session and to the browser, `iss` checked where the manifest names an issuer.
struct ConnectFlow: Sendable {
    let services: LatchkeyServices
    var connections: ConnectionService { ConnectionService(services: services) }
    var apps: AppDirectory { services.apps }

    // MARK: sessions

    /// Creates a single-use connect link for `owner`, valid for the configured TTL (15 minutes by default).
    func createSession(
        provider: ProviderManifest, owner: OwnerRef, reconnect: String?, extraScopes: [String], returnTo: String?, caller: Caller
    ) async throws -> (url: String, expiresAt: Date) {
        try connections.authorize(caller, actFor: owner)
        try await connections.requireOwner(owner)
        if let returnTo { try checkReturnTo(returnTo) }
        if provider.auth == .none {
            throw LatchkeyError(.invalidRequest, "provider: \(provider.id) needs no credential; install it instead", field: "provider")
        }
        var reconnectID: ConnectionID?
        if let reconnect {
            guard let stored = try await services.store.connection(id: ConnectionID(rawValue: reconnect)),
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
    func reconnectLink(for connection: Connection, caller: Caller) async -> (url: String, expiresAt: Date)? {
        if connection.owner.kind == .user, caller != .admin { return nil }
        let now = services.clock.now
        if let cached = services.reconnectLinks.link(for: connection.id, now: now) { return cached }
        guard let link = try? await storeSession(
            provider: connection.provider, owner: connection.owner, reconnect: connection.id, extraScopes: [], returnTo: nil,
            caller: caller)
        else { return nil }
        services.reconnectLinks.remember(link, for: connection.id)
        return link
    }

    private func storeSession(
        provider: ProviderID, owner: OwnerRef, reconnect reconnectID: ConnectionID?, extraScopes: [String], returnTo: String?, caller: Caller
    ) async throws -> (url: String, expiresAt: Date) {
        let token = "cs_" + RandomToken.base64URL(bytes: 32)
        let now = services.clock.now
        let expiresAt = now.addingTimeInterval(services.settings.connectSessionTTL)
        // A link for a new connection is bound to the install waiting for it, so it dies when the integration is removed.
        let installID = reconnectID != nil
            ? nil : try await services.store.connections(owners: [owner], provider: provider).first { $0.state == .installed }?.id
        try await services.store.createSession(ConnectSession(
            tokenHash: SecretHash.sha256Hex(token), provider: provider, owner: owner, connectionID: reconnectID, installID: installID,
            extraScopes: extraScopes, returnTo: returnTo, createdBy: caller.actorName, createdAt: now, expiresAt: expiresAt))
        await services.audit(AuditEvent(
            at: now, actor: caller.actorName, action: "connect_session.created", owner: owner, provider: provider,
            connectionID: reconnectID))
        return (services.settings.publicURL + "/connect/" + token, expiresAt)
    }

    /// `return_to` must be an absolute http(s) URL whose origin is on the allowlist (no open redirect).
    func checkReturnTo(_ url: String) throws(LatchkeyError) {
        guard let origin = Origin.of(url), services.settings.returnToAllowlist.contains(origin),
            !url.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "\\") })
        else {
            throw LatchkeyError(
                .returnToNotAllowed, "return_to: '\(url.prefix(100))' is not on the return_to allowlist", field: "return_to")
        }
    }

    /// The live session behind a link token, or the reason it cannot be used.
    func liveSession(token: String) async throws -> ConnectSession {
        guard token.hasPrefix("cs_"), let session = try await services.store.session(tokenHash: SecretHash.sha256Hex(token)) else {
            throw LatchkeyError(.notFound, "this connect link is unknown")
        }
        try await requireLive(session)
        return session
    }

    /// A link works once, until it expires, and only while what it was made for still stands: the connection it
    /// reconnects or the install it completes (not revoked or removed), and its owner and every owner above it (not
    /// revoked since the link was made). Otherwise `session_used`, `session_expired` or `session_revoked` (410).
    func requireLive(_ session: ConnectSession) async throws {
        if session.usedAt != nil { throw LatchkeyError(.sessionUsed, "this connect link was already used") }
        if session.expiresAt <= services.clock.now { throw LatchkeyError(.sessionExpired, "this connect link has expired") }
        guard try await services.store.ownerExists(session.owner) else {
            throw LatchkeyError(.sessionRevoked, "this connect link was revoked: \(session.owner) no longer exists")
        }
        let chain = Array(sequence(first: session.owner, next: \.parent))
        if let revokedAt = try await services.store.latestRevocation(of: chain), revokedAt >= session.createdAt {
            throw LatchkeyError(.sessionRevoked, "this connect link was revoked: \(session.owner) or an owner above it was revoked")
        }
        for id in [session.connectionID, session.installID].compactMap({ $0 }) {
            guard let stored = try await services.store.connection(id: id), stored.connection.state != .revoked else {
                throw LatchkeyError(.sessionRevoked, "this connect link was revoked: its connection was revoked or removed")
            }
        }
    }

    /// The account a reconnect link must be finished with, for the connect page; nil when any account will do.
    func expectedAccount(_ session: ConnectSession) async throws -> AccountIdentity? {
        guard let id = session.connectionID else { return nil }
        return try await services.store.connection(id: id)?.connection.account
    }

    /// The scopes a session asks: the app's configured scopes or the manifest's defaults, plus the session's extras.
    func scopes(for session: ConnectSession, spec: OAuth2Spec, app: AppRegistration) -> [String] {
        var scopes = app.scopes.isEmpty ? spec.scopes : app.scopes
        for extra in session.extraScopes where !scopes.contains(extra) { scopes.append(extra) }
        return scopes
    }

    /// Checks the `connection_config` values a person typed against the manifest.
    func validatedConfig(_ manifest: ProviderManifest, _ given: [String: String]) throws(LatchkeyError) -> [String: String] {
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

    /// Where to send the browser, and the browser-binding cookie to set.
    struct Redirect {
        var location: String
        var bindingCookieName: String
        var bindingNonce: String
    }

    /// Starts the authorization-code flow: a fresh `state` (256 random bits, single use, 10-minute TTL, bound to the
    /// session and to this browser) and, unless the manifest turns it off, PKCE S256 with the verifier sealed.
    /// `session` is live (from `liveSession`), read once by the caller.
    func begin(session: ConnectSession, config given: [String: String]) async throws -> Redirect {
        let manifest = try services.catalog.manifest(session.provider.rawValue)
        guard let spec = manifest.auth.oauth2 else {
            throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) does not use OAuth", field: "provider")
        }
        let config = try validatedConfig(manifest, given)
        guard let (app, credentials) = try await apps.resolve(provider: manifest.id, for: session.owner) else {
            throw LatchkeyError(.appNotConfigured, "no OAuth app of \(manifest.name) is registered for \(session.owner) or above it")
        }
        let state = RandomToken.base64URL(bytes: 32)
        let stateHash = SecretHash.sha256Hex(state)
        let pkce = spec.pkce ? PKCE() : nil
        let nonce = RandomToken.base64URL(bytes: 32)
        let scopes = scopes(for: session, spec: spec, app: app)
        let now = services.clock.now
        let sealedVerifier = try await pkce.asyncMap {
            try await services.vault.seal(Array($0.verifier.utf8), binding: Self.verifierBinding(stateHash, session))
        }
        try await services.store.createState(AuthorizationState(
            stateHash: stateHash, sessionTokenHash: session.tokenHash, provider: manifest.id, owner: session.owner,
            sealedVerifier: sealedVerifier, browserBindingHash: SecretHash.sha256Hex(nonce), scopes: scopes, config: config,
            createdAt: now, expiresAt: now.addingTimeInterval(services.settings.authorizationStateTTL)))
        let url = try AuthorizationRequest.url(
            spec: spec, clientID: credentials.clientID, redirectURI: services.settings.callbackURL, scopes: scopes, state: state,
            pkce: pkce, config: config)
        await services.audit(AuditEvent(
            at: now, actor: "browser", action: "connect.started", owner: session.owner, provider: manifest.id))
        return Redirect(location: url, bindingCookieName: Self.bindingCookieName(stateHash), bindingNonce: nonce)
    }

    static func verifierBinding(_ stateHash: String, _ session: ConnectSession) -> SealBinding {
        SealBinding(purpose: "pkce_verifier", rowID: stateHash, owner: session.owner, provider: session.provider)
    }

    /// One cookie per flow, so two flows in one browser do not clobber each other.
    static func bindingCookieName(_ stateHash: String) -> String { "lk_flow_" + stateHash.prefix(16) }

    /// The parameters the provider sent to the callback.
    struct CallbackParameters {
        var state: String?
        var code: String?
        var error: String?
        var errorDescription: String?
        var issuer: String?
        /// Reads this flow's binding cookie by name.
        var cookie: (String) -> String?
    }

    /// How a callback ended.
    struct Outcome {
        var connection: Connection
        var providerName: String
        var returnTo: String?
    }

    /// Finishes the flow at the callback. Every failure leaves what is stored unchanged. The state is spent once the
    /// callback is known to come from the browser that started the flow: a state works once, whatever happens next,
    /// but a leaked callback URL opened elsewhere cannot use it up.
    func complete(_ p: CallbackParameters) async throws -> Outcome {
        guard let state = p.state, !state.isEmpty else {
            throw LatchkeyError(.invalidState, "state: the callback has no state parameter", field: "state")
        }
        let stateHash = SecretHash.sha256Hex(state)
        guard let waiting = try await services.store.authorizationState(hash: stateHash) else {
            throw LatchkeyError(.invalidState, "state: unknown or already used; start again from the connect link", field: "state")
        }
        // Expired first: the browser's binding cookie expires with the state, and an expired state is of use to nobody.
        guard waiting.expiresAt > services.clock.now else {
            _ = try await services.store.consumeState(hash: stateHash)
            throw LatchkeyError(.invalidState, "state: expired; start again from the connect link", field: "state")
        }
        guard let nonce = p.cookie(Self.bindingCookieName(stateHash)),
            SecretHash.constantTimeEquals(SecretHash.sha256Hex(nonce), waiting.browserBindingHash)
        else {
            throw LatchkeyError(.invalidState, "state: this flow was started in another browser", field: "state")
        }
        guard let pending = try await services.store.consumeState(hash: stateHash) else {
            throw LatchkeyError(.invalidState, "state: unknown or already used; start again from the connect link", field: "state")
        }
        let now = services.clock.now
        guard pending.expiresAt > now else {
            throw LatchkeyError(.invalidState, "state: expired; start again from the connect link", field: "state")
        }
        guard let session = try await services.store.session(tokenHash: pending.sessionTokenHash) else {
            throw LatchkeyError(.invalidState, "state: its connect session is gone", field: "state")
        }
        try await requireLive(session)
        let manifest = try services.catalog.manifest(session.provider.rawValue)
        guard let spec = manifest.auth.oauth2 else { throw LatchkeyError(.invalidState, "state: not an OAuth flow") }

        // RFC 9207: a provider that names its issuer must be the one we sent the person to.
        if let expected = spec.issuer, let iss = p.issuer, iss != expected {
            throw LatchkeyError(.issuerMismatch, "iss: the callback came from '\(iss.prefix(100))', expected \(expected)", field: "iss")
        }
        if let error = p.error {
            let code: LatchkeyError.Code = error == "access_denied" ? .accessDenied : .providerError
            await services.audit(AuditEvent(
                at: now, actor: "browser", action: "connect.failed", owner: session.owner, provider: manifest.id, outcome: "failure",
                detail: String(error.prefix(64))))
            throw LatchkeyError(
                code, error == "access_denied" ? "the connection was declined at \(manifest.name)" : "\(manifest.name) answered \(error.prefix(64))",
                oauthError: String(error.prefix(64)))
        }
        guard let code = p.code, !code.isEmpty else {
            throw LatchkeyError(.invalidRequest, "code: the callback has no authorization code", field: "code")
        }
        guard let (_, credentials) = try await apps.resolve(provider: manifest.id, for: session.owner) else {
            throw LatchkeyError(.appNotConfigured, "no OAuth app of \(manifest.name) is registered for \(session.owner)")
        }
        let verifier = try await pending.sealedVerifier.asyncMap {
            String(decoding: try await services.vault.open($0, binding: Self.verifierBinding(stateHash, session)), as: UTF8.self)
        }
        let grant: TokenGrant
        do {
            grant = try await services.oauth.exchangeCode(
                spec: spec, app: credentials, code: code, verifier: verifier, redirectURI: services.settings.callbackURL,
                config: pending.config)
        } catch {
            await services.audit(AuditEvent(
                at: now, actor: "browser", action: "connect.exchange_failed", owner: session.owner, provider: manifest.id,
                outcome: "failure", detail: error.oauthError ?? error.code.rawValue))
            throw error
        }
        let values = pending.config.merging(grant.saved) { $1 }
        try checkSavedURLs(manifest, values)
        var account: AccountIdentity?
        if let identity = spec.identity {
            account = try await services.oauth.identity(
                spec: identity, credential: grant.credential, injection: manifest.proxy?.inject,
                extraHeaders: manifest.proxy?.headers ?? [:], tokenResponse: grant.raw, values: values)
        }
        // The link stays usable when the wrong account finished it, so that the right person still can; the grant
        // made for nothing is revoked.
        do {
            try await requireBoundAccount(session, account: account)
        } catch {
            await connections.revokeGrant(
                grant.credential, provider: manifest.id, owner: session.owner, config: values, connectionID: session.connectionID,
                actor: "browser", action: "connection.mismatched_grant_revoked")
            throw error
        }
        guard try await services.store.markSessionUsed(tokenHash: session.tokenHash, at: now) else {
            throw LatchkeyError(.sessionUsed, "this connect link was already used")
        }
        let completed = try await connections.complete(ConnectionService.Completion(
            provider: manifest.id, owner: session.owner, reconnect: session.connectionID, account: account,
            credential: grant.credential, scopesRequested: pending.scopes, scopesGranted: grant.scopes ?? pending.scopes,
            config: values, expiresAt: grant.expiresAt))
        await recordConnected(completed, actor: "browser")
        return Outcome(connection: completed.connection, providerName: manifest.name, returnTo: session.returnTo)
    }

    /// For a reconnect link: the account that finished the flow must be the one the connection was made with.
    /// A mismatch is audited (both accounts, by id and name) and refused with `account_mismatch`.
    func requireBoundAccount(_ session: ConnectSession, account: AccountIdentity?) async throws {
        guard let id = session.connectionID, let bound = try await services.store.connection(id: id)?.connection else { return }
        do {
            try AccountBinding.check(bound: bound.account, finished: account)
        } catch {
            await services.audit(AuditEvent(
                at: services.clock.now, actor: "browser", action: "connection.account_mismatch", owner: bound.owner, provider: bound.provider,
                connectionID: bound.id, outcome: "failure",
                detail: "expected \(bound.account?.auditLabel ?? "-"), got \(account?.auditLabel ?? "-")"))
            throw error
        }
    }

    /// Audits a finished flow with the account before and after, and revokes the grant it replaced at the provider.
    func recordConnected(_ completed: ConnectionService.Completed, actor: String) async {
        let connection = completed.connection
        let before = completed.replaced?.connection.account?.auditLabel ?? "-"
        await services.audit(AuditEvent(
            at: services.clock.now, actor: actor, action: completed.replaced == nil ? "connection.connected" : "connection.reconnected",
            owner: connection.owner, provider: connection.provider, connectionID: connection.id,
            detail: "account \(before) -> \(connection.account?.auditLabel ?? "-")"))
        if let replaced = completed.replaced {
            await connections.revokeAtProvider(replaced, actor: actor, action: "connection.replaced_grant_revoked")
        }
    }

    /// Values saved from a token response become URL prefixes (Salesforce's `instance_url`): they must obey the same
    /// rules as manifest URLs, so a provider's answer cannot point Latchkey at another scheme or an internal host.
    func checkSavedURLs(_ manifest: ProviderManifest, _ values: [String: String]) throws(LatchkeyError) {
        let templates = [manifest.proxy?.baseURL, manifest.auth.oauth2?.revocationURL].compactMap { $0 }
        for template in templates {
            guard let rendered = template.render(values) else { continue }
            if !URLRules.isAllowed(rendered) {
                throw LatchkeyError(.invalidProviderResponse, "the provider's token response names a URL that is not https")
            }
        }
    }

    // MARK: API keys

    /// Saves an API key (or basic credentials) typed into the connect form, after checking it at the
    /// manifest's identity URL when there is one.
    /// `session` is live (from `liveSession`), read once by the caller.
    func submitKey(session: ConnectSession, form: [String: String]) async throws -> Outcome {
        let manifest = try services.catalog.manifest(session.provider.rawValue)
        let config = try validatedConfig(manifest, form)
        let credential: Credential
        let identity: IdentitySpec?
        switch manifest.auth {
        case .apiKey(let spec):
            guard let key = form["api_key"]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
                throw LatchkeyError(.invalidRequest, "api_key: required", field: "api_key")
            }
            credential = Credential(apiKey: key)
            identity = spec.identity
        case .basic(let spec):
            guard let user = form["username"], !user.isEmpty else { throw LatchkeyError(.invalidRequest, "username: required", field: "username") }
            credential = Credential(username: user, password: form["password"] ?? "")
            identity = spec.identity
        default:
            throw LatchkeyError(.invalidRequest, "provider: \(manifest.id) does not take a key", field: "provider")
        }
        let connection = try await saveKey(
            manifest: manifest, owner: session.owner, reconnect: session.connectionID, credential: credential, identity: identity,
            config: config, actor: "browser"
        ) { account in
            try await requireBoundAccount(session, account: account)
            return try await services.store.markSessionUsed(tokenHash: session.tokenHash, at: services.clock.now)
        }
        return Outcome(connection: connection, providerName: manifest.name, returnTo: session.returnTo)
    }

    /// Checks and stores a key credential. `claim` runs after the check, with the account the key belongs to, and
    /// before the write; false means someone else finished first.
    func saveKey(
        manifest: ProviderManifest, owner: OwnerRef, reconnect: ConnectionID?, credential: Credential, identity: IdentitySpec?,
        config: [String: String], actor: String, claim: (AccountIdentity?) async throws -> Bool
    ) async throws -> Connection {
        var account: AccountIdentity?
        if let identity {
            do {
                account = try await services.oauth.identity(
                    spec: identity, credential: credential, injection: manifest.proxy?.inject,
                    extraHeaders: manifest.proxy?.headers ?? [:], tokenResponse: nil, values: config)
            } catch {
                let refused = error.code == .invalidAPIKey
                if refused { throw LatchkeyError(.invalidAPIKey, "api_key: \(manifest.name) refused the key", field: "api_key") }
                throw error
            }
        }
        guard try await claim(account) else { throw LatchkeyError(.sessionUsed, "this connect link was already used") }
        let completed = try await connections.complete(ConnectionService.Completion(
            provider: manifest.id, owner: owner, reconnect: reconnect, account: account, credential: credential,
            scopesRequested: [], scopesGranted: [], config: config, expiresAt: nil))
        await recordConnected(completed, actor: actor)
        return completed.connection
    }
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
enum Origin {
    static func of(_ url: String) -> String? {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = url.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        return "\(scheme)://\(authority.lowercased())"
    }
}

/// The proxy asks the connect flow for reconnect links.
extension ConnectFlow: ReconnectLinkSource {}
