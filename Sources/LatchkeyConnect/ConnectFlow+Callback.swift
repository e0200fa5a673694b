import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// The provider's redirect back: the state checked and spent, the code exchanged, the account checked, the connection written.
extension ConnectFlow {
    /// The parameters the provider sent to the callback.
    public struct CallbackParameters {
        public var state: String?
        public var code: String?
        public var error: String?
        public var errorDescription: String?
        public var issuer: String?
        /// Reads this flow's binding cookie by name.
        public var cookie: (String) -> String?

        public init(
            state: String?, code: String?, error: String?, errorDescription: String?, issuer: String?, cookie: @escaping (String) -> String?
        ) {
            self.state = state
            self.code = code
            self.error = error
            self.errorDescription = errorDescription
            self.issuer = issuer
            self.cookie = cookie
        }
    }

    /// How a callback ended.
    public struct Outcome: Sendable {
        public var connection: Connection
        public var providerName: String
        public var returnTo: String?
    }

    /// Finishes the flow at the callback. Every failure leaves what is stored unchanged. The state is spent once the
    /// callback is known to come from the browser that started the flow: a state works once, whatever happens next,
    /// but a leaked callback URL opened elsewhere cannot use it up.
    public func complete(_ p: CallbackParameters) async throws -> Outcome {
        guard let state = p.state, !state.isEmpty else {
            throw LatchkeyError(.invalidState, "state: the callback has no state parameter", field: "state")
        }
        let stateHash = SecretHash.sha256Hex(state)
        guard let waiting = try await store.authorizationState(hash: stateHash) else {
            throw LatchkeyError(.invalidState, "state: unknown or already used; start again from the connect link", field: "state")
        }
        // Expired first: the browser's binding cookie expires with the state, and an expired state is of use to nobody.
        guard waiting.expiresAt > clock.now else {
            _ = try await store.consumeState(hash: stateHash)
            throw LatchkeyError(.invalidState, "state: expired; start again from the connect link", field: "state")
        }
        guard let nonce = p.cookie(Self.bindingCookieName(stateHash)),
            SecretHash.constantTimeEquals(SecretHash.sha256Hex(nonce), waiting.browserBindingHash)
        else {
            throw LatchkeyError(.invalidState, "state: this flow was started in another browser", field: "state")
        }
        guard let pending = try await store.consumeState(hash: stateHash) else {
            throw LatchkeyError(.invalidState, "state: unknown or already used; start again from the connect link", field: "state")
        }
        let now = clock.now
        guard pending.expiresAt > now else {
            throw LatchkeyError(.invalidState, "state: expired; start again from the connect link", field: "state")
        }
        guard let session = try await store.session(tokenHash: pending.sessionTokenHash) else {
            throw LatchkeyError(.invalidState, "state: its connect session is gone", field: "state")
        }
        try await requireLive(session)
        let manifest = try catalog.manifest(session.provider.rawValue)
        guard manifest.auth.usesOAuthTokens else { throw LatchkeyError(.invalidState, "state: not an OAuth flow") }
        guard let (source, setup) = try await connections.flowSetup(provider: manifest, owner: session.owner, install: session.installID)
        else {
            throw LatchkeyError(.appNotConfigured, "no OAuth app of \(manifest.name) is registered for \(session.owner)")
        }
        let (spec, credentials) = (setup.spec, setup.credentials)

        // RFC 9207: a provider that names its issuer must be the one we sent the person to.
        if let expected = spec.issuer, let iss = p.issuer, iss != expected {
            throw LatchkeyError(.issuerMismatch, "iss: the callback came from '\(iss.prefix(100))', expected \(expected)", field: "iss")
        }
        if let error = p.error {
            let code: LatchkeyError.Code = error == "access_denied" ? .accessDenied : .providerError
            await audit.record(AuditEvent(
                at: now, actor: .browser, action: .connectFailed, owner: session.owner, provider: manifest.id, outcome: "failure",
                detail: String(error.prefix(64))))
            throw LatchkeyError(
                code, error == "access_denied" ? "the connection was declined at \(manifest.name)" : "\(manifest.name) answered \(error.prefix(64))",
                oauthError: String(error.prefix(64)))
        }
        guard let code = p.code, !code.isEmpty else {
            throw LatchkeyError(.invalidRequest, "code: the callback has no authorization code", field: "code")
        }
        let verifier = try await pending.sealedVerifier.asyncMap {
            String(decoding: try await vault.open($0, binding: Self.verifierBinding(stateHash, session)), as: UTF8.self)
        }
        let grant: TokenGrant
        do {
            grant = try await oauth.exchangeCode(
                spec: spec, app: credentials, code: code, verifier: verifier, redirectURI: settings.callbackURL,
                config: pending.config)
        } catch {
            await audit.record(AuditEvent(
                at: now, actor: .browser, action: .connectExchangeFailed, owner: session.owner, provider: manifest.id,
                outcome: "failure", detail: error.oauthError ?? error.code.rawValue))
            throw error
        }
        let values = pending.config.merging(grant.saved) { $1 }
        try checkSavedURLs(manifest, values)
        var account: AccountIdentity?
        if let identity = spec.identity {
            account = try await oauth.identity(
                spec: identity, credential: grant.credential, injection: manifest.proxy?.inject,
                extraHeaders: manifest.proxy?.headers ?? [:], tokenResponse: grant.raw, values: values)
        }
        // The link stays usable when the wrong account finished it, so that the right person still can; the grant
        // made for nothing is revoked.
        do {
            try await requireBoundAccount(session, account: account)
        } catch {
            await connections.revokeGrant(
                grant.credential, provider: manifest.id, owner: session.owner, source: source, config: values,
                connectionID: session.connectionID,
                actor: .browser, action: .connectionMismatchedGrantRevoked)
            throw error
        }
        guard try await store.markSessionUsed(tokenHash: session.tokenHash, at: now) else {
            throw LatchkeyError(.sessionUsed, "this connect link was already used")
        }
        let completed = try await connections.complete(ConnectionService.Completion(
            provider: manifest.id, owner: session.owner, reconnect: session.connectionID, account: account,
            credential: grant.credential, scopesRequested: pending.scopes, scopesGranted: grant.scopes ?? pending.scopes,
            config: values, expiresAt: grant.expiresAt, credentials: source))
        await recordConnected(completed, actor: .browser)
        return Outcome(connection: completed.connection, providerName: manifest.name, returnTo: session.returnTo)
    }

    /// For a reconnect link: the account that finished the flow must be the one the connection was made with.
    /// A mismatch is audited (both accounts, by id and name) and refused with `account_mismatch`.
    func requireBoundAccount(_ session: ConnectSession, account: AccountIdentity?) async throws {
        guard let id = session.connectionID, let bound = try await store.connection(id: id)?.connection else { return }
        do {
            try AccountBinding.check(bound: bound.account, finished: account)
        } catch {
            await audit.record(AuditEvent(
                at: clock.now, actor: .browser, action: .connectionAccountMismatch, owner: bound.owner, provider: bound.provider,
                connectionID: bound.id, outcome: "failure",
                detail: "expected \(bound.account?.auditLabel ?? "-"), got \(account?.auditLabel ?? "-")"))
            throw error
        }
    }

    /// Audits a finished flow with the account before and after, and revokes the grant it replaced at the provider.
    func recordConnected(_ completed: ConnectionService.Completed, actor: AuditActor) async {
        let connection = completed.connection
        let before = completed.replaced?.connection.account?.auditLabel ?? "-"
        await audit.record(AuditEvent(
            at: clock.now, actor: actor, action: completed.replaced == nil ? AuditAction.connectionConnected : .connectionReconnected,
            owner: connection.owner, provider: connection.provider, connectionID: connection.id,
            detail: "account \(before) -> \(connection.account?.auditLabel ?? "-")"))
        if let replaced = completed.replaced {
            await connections.revokeAtProvider(replaced, actor: actor, action: .connectionReplacedGrantRevoked)
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
}
