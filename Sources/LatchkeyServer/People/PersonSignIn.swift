import Foundation
import LatchkeyConnect
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyOIDC
import LatchkeyRuntime
import LatchkeyStore

/// How a person proves who they are to Latchkey: OpenID Connect against their org's identity provider, or, with none
/// configured, a single-use sign-in link that an admin hands them.
///
/// OpenID Connect is the authorization-code flow with PKCE S256, a one-time `state` bound to the browser by a cookie,
/// and a `nonce` derived from that cookie, so an ID token is accepted only in the browser that asked for it. The ID
/// token is verified by `IDTokenVerifier` (signature against the issuer's JWKS, `iss`, `aud`, `exp`, `nonce`). Every
/// call to the identity provider goes through `OAuthClient` (libcurl).
struct PersonSignIn: Sendable {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let settings: ServerSettings
    let vault: CredentialVault
    let oauth: OAuthClient

    var redirectURI: String { settings.publicURL + "/me/oidc/callback" }

    // MARK: sign-in links

    /// A single-use link that signs `person` in, stored only as a hash.
    func createLink(for person: OwnerRef) async throws -> (url: String, expiresAt: Date) {
        guard person.kind == .user, try await store.ownerExists(person) else {
            throw LatchkeyError(.notFound, "user: \(person) does not exist", field: "user")
        }
        let token = "si_" + RandomToken.base64URL(bytes: 32)
        let now = clock.now
        let expiresAt = now.addingTimeInterval(settings.signInLinkTTL)
        try await store.createSignInLink(tokenHash: SecretHash.sha256Hex(token), person: person, createdAt: now, expiresAt: expiresAt)
        await audit.record(AuditEvent(at: now, actor: .admin, action: .personSignInLinkCreated, owner: person))
        return (settings.publicURL + "/me/sign-in/" + token, expiresAt)
    }

    /// Uses a sign-in link: the person it signs in, or why it cannot.
    func redeem(token: String) async throws -> OwnerRef {
        let use = token.hasPrefix("si_") ? try await store.useSignInLink(tokenHash: SecretHash.sha256Hex(token), at: clock.now) : .unknown
        switch use {
        case .person(let person):
            try await requireNotRevoked(person)
            return person
        case .alreadyUsed: throw LatchkeyError(.sessionUsed, "this sign-in link was already used; ask for a new one")
        case .expired: throw LatchkeyError(.sessionExpired, "this sign-in link has expired; ask for a new one")
        case .unknown: throw LatchkeyError(.notFound, "this sign-in link is unknown")
        }
    }

    /// A person whose owner, or org, was revoked cannot sign in.
    func requireNotRevoked(_ person: OwnerRef) async throws {
        guard try await store.ownerExists(person),
            try await store.latestRevocation(of: Array(sequence(first: person, next: \.parent))) == nil
        else { throw LatchkeyError(.forbidden, "\(person) was revoked and cannot sign in") }
    }

    // MARK: OpenID Connect

    /// Registers or replaces the org's identity provider, after reading its discovery document (the issuer must
    /// match exactly) unless `readDiscovery` is false. The client secret is sealed under the org's data key.
    func configure(org: OwnerRef, issuer: String, clientID: String, clientSecret: String?, readDiscovery: Bool = true) async throws {
        if readDiscovery { _ = try await discovery(issuer: issuer) }
        let sealed = try await clientSecret.asyncMap {
            try await vault.seal(Array($0.utf8), binding: Self.secretBinding(org: org))
        }
        try await store.putSignInProvider(SignInProvider(
            org: org.org, issuer: issuer, clientID: clientID, sealedClientSecret: sealed, updatedAt: clock.now))
    }

    /// Where to send the browser to sign in to `org`, and the browser-binding cookie to set.
    func begin(org: String, next: String) async throws -> BrowserRedirect {
        guard let provider = try await store.signInProvider(org: org) else {
            throw LatchkeyError(.appNotConfigured, "org \(org.prefix(64)) has no identity provider; ask an admin for a sign-in link")
        }
        let discovery = try await discovery(issuer: provider.issuer)
        let state = RandomToken.base64URL(bytes: 32)
        let stateHash = SecretHash.sha256Hex(state)
        let binding = RandomToken.base64URL(bytes: 32)
        let nonce = Self.nonce(binding: binding)
        let pkce = PKCE()
        let now = clock.now
        let orgRef = try OwnerRef(kind: .org, path: org, field: "org")
        try await store.createSignInState(SignInState(
            stateHash: stateHash, org: org, nonceHash: SecretHash.sha256Hex(nonce),
            sealedVerifier: try await vault.seal(Array(pkce.verifier.utf8), binding: Self.verifierBinding(stateHash, org: orgRef)),
            browserBindingHash: SecretHash.sha256Hex(binding), next: next, createdAt: now,
            expiresAt: now.addingTimeInterval(settings.authorizationStateTTL)))
        let url = try AuthorizationRequest.url(
            spec: Self.spec(discovery, nonce: nonce), clientID: provider.clientID, redirectURI: redirectURI,
            scopes: ["openid", "email", "profile"], state: state, pkce: pkce, config: [:])
        return BrowserRedirect(location: url, bindingCookieName: Self.bindingCookieName(stateHash), bindingNonce: binding)
    }

    /// Finishes an OpenID Connect sign-in: the person it signs in, and where to go next. A callback without the
    /// browser's binding cookie is refused and leaves the state usable.
    func complete(state: String?, code: String?, error: String?, cookie: (String) -> String?) async throws -> (person: OwnerRef, next: String) {
        guard let state, !state.isEmpty else { throw LatchkeyError(.invalidState, "state: the callback has no state parameter", field: "state") }
        let stateHash = SecretHash.sha256Hex(state)
        guard let waiting = try await store.signInState(hash: stateHash) else {
            throw LatchkeyError(.invalidState, "state: unknown or already used; sign in again", field: "state")
        }
        guard let binding = cookie(Self.bindingCookieName(stateHash)),
            SecretHash.constantTimeEquals(SecretHash.sha256Hex(binding), waiting.browserBindingHash)
        else { throw LatchkeyError(.invalidState, "state: this sign-in was started in another browser", field: "state") }
        guard let pending = try await store.consumeSignInState(hash: stateHash), pending.expiresAt > clock.now else {
            throw LatchkeyError(.invalidState, "state: expired or already used; sign in again", field: "state")
        }
        if let error {
            throw LatchkeyError(.accessDenied, "the identity provider answered \(error.prefix(64))", oauthError: String(error.prefix(64)))
        }
        guard let code, !code.isEmpty else { throw LatchkeyError(.invalidRequest, "code: the callback has no authorization code", field: "code") }
        guard let provider = try await store.signInProvider(org: pending.org) else {
            throw LatchkeyError(.appNotConfigured, "org \(pending.org) has no identity provider any more")
        }
        let orgRef = try OwnerRef(kind: .org, path: pending.org, field: "org")
        let discovery = try await discovery(issuer: provider.issuer)
        let verifier = String(decoding: try await vault.open(pending.sealedVerifier, binding: Self.verifierBinding(stateHash, org: orgRef)), as: UTF8.self)
        let secret = try await provider.sealedClientSecret.asyncMap {
            String(decoding: try await vault.open($0, binding: Self.secretBinding(org: orgRef)), as: UTF8.self)
        }
        let nonce = Self.nonce(binding: binding)
        let grant = try await oauth.exchangeCode(
            spec: Self.spec(discovery, nonce: nonce), app: AppCredentials(clientID: provider.clientID, clientSecret: secret), code: code,
            verifier: verifier, redirectURI: redirectURI, config: [:])
        guard case .string(let idToken)? = grant.raw.objectValue?["id_token"] else {
            throw LatchkeyError(.invalidProviderResponse, "the identity provider's token response has no id_token")
        }
        let jwks = try await oauth.fetchJSON(url: discovery.jwksURI.absoluteString, step: "jwks")
        let claims: IDTokenClaims
        do {
            claims = try await IDTokenVerifier(jwks: Data(jwks), issuer: provider.issuer, clientID: provider.clientID, now: clock.now)
                .verify(idToken, expectedNonce: nonce)
        } catch {
            await audit.record(AuditEvent(
                at: clock.now, actor: .browser, action: .personSignIn, owner: orgRef, outcome: "failure", detail: error.code))
            throw LatchkeyError(.forbidden, "the identity provider's ID token was refused: \(error.message)")
        }
        let person: OwnerRef
        do { person = try await match(claims, org: pending.org, issuer: provider.issuer) } catch {
            await audit.record(AuditEvent(
                at: clock.now, actor: .browser, action: .personSignIn, owner: orgRef, outcome: "failure", detail: "unknown_person"))
            throw error
        }
        try await requireNotRevoked(person)
        return (person, pending.next)
    }

    /// The registered person an ID token names: by the subject recorded at an earlier sign-in, else by a verified
    /// email registered for a person of the org who has no subject yet (then recorded).
    func match(_ claims: IDTokenClaims, org: String, issuer: String) async throws -> OwnerRef {
        let orgRef = try OwnerRef(kind: .org, path: org, field: "org")
        if let known = try await store.person(org: org, issuer: issuer, subject: claims.subject) { return known.person }
        guard let email = claims.email?.lowercased(), claims.emailVerified,
            let registered = try await store.person(org: org, email: email), registered.subject == nil,
            try await store.recordSubject(registered.person, issuer: issuer, subject: claims.subject)
        else { throw unknownPerson(orgRef, claims) }
        return registered.person
    }

    private func unknownPerson(_ org: OwnerRef, _ claims: IDTokenClaims) -> LatchkeyError {
        LatchkeyError(
            .forbidden, "no person of \(org) is registered for this account\(claims.emailVerified ? "" : " (its email is not verified)"); ask an admin to add you")
    }

    /// The issuer's discovery document, checked (OpenID Connect Discovery 1.0 §4.3: the issuer must match exactly).
    func discovery(issuer: String) async throws -> OIDCDiscovery {
        let url = issuer.hasSuffix("/") ? issuer + ".well-known/openid-configuration" : issuer + "/.well-known/openid-configuration"
        let body = try await oauth.fetchJSON(url: url, step: "openid discovery")
        do { return try OIDCDiscovery.validated(data: Data(body), expectedIssuer: issuer) } catch {
            throw LatchkeyError(.invalidProviderResponse, "issuer: \(error.message)", field: "issuer")
        }
    }

    /// The authorization-code flow against the identity provider, as an OAuth 2.0 spec for `OAuthClient`.
    static func spec(_ discovery: OIDCDiscovery, nonce: String) -> OAuth2Spec {
        OAuth2Spec(
            authorizationURL: URLTemplate(discovery.authorizationEndpoint.absoluteString),
            tokenURL: URLTemplate(discovery.tokenEndpoint.absoluteString),
            pkce: true, clientAuth: .clientSecretBasic, authorizationParams: ["nonce": nonce], defaultTokenLifetime: nil,
            issuer: discovery.issuer)
    }

    /// The nonce is derived from the browser-binding cookie: only the browser that started the sign-in can finish it.
    static func nonce(binding: String) -> String { SecretHash.sha256Hex("latchkey/oidc-nonce/v1/" + binding) }
    static func bindingCookieName(_ stateHash: String) -> String { "lk_signin_" + stateHash.prefix(16) }
    static func verifierBinding(_ stateHash: String, org: OwnerRef) -> SealBinding {
        SealBinding(purpose: "sign_in_verifier", rowID: stateHash, owner: org, provider: ProviderID("openid"))
    }
    static func secretBinding(org: OwnerRef) -> SealBinding {
        SealBinding(purpose: "sign_in_client_secret", rowID: org.description, owner: org, provider: ProviderID("openid"))
    }
}
