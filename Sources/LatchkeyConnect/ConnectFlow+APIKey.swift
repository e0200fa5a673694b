import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// The connect page's form for providers that take an API key instead of OAuth.
extension ConnectFlow {
    // MARK: API keys

    /// Saves an API key (or basic credentials) typed into the connect form, after checking it at the
    /// manifest's identity URL when there is one.
    /// `session` is live (from `liveSession`), read once by the caller.
    public func submitKey(session: ConnectSession, form: [String: String]) async throws -> Outcome {
        let manifest = try catalog.manifest(session.provider.rawValue)
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
            config: config, actor: .browser
        ) { account in
            try await requireBoundAccount(session, account: account)
            return try await store.markSessionUsed(tokenHash: session.tokenHash, at: clock.now)
        }
        return Outcome(connection: connection, providerName: manifest.name, returnTo: session.returnTo)
    }

    /// Checks and stores a key credential. `claim` runs after the check, with the account the key belongs to, and
    /// before the write; false means someone else finished first.
    public func saveKey(
        manifest: ProviderManifest, owner: OwnerRef, reconnect: ConnectionID?, credential: Credential, identity: IdentitySpec?,
        config: [String: String], actor: AuditActor, claim: (AccountIdentity?) async throws -> Bool
    ) async throws -> Connection {
        var account: AccountIdentity?
        if let identity {
            do {
                account = try await oauth.identity(
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
