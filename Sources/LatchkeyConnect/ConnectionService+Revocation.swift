import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyWebhooks

/// Revoking grants at the provider (RFC 7009) when a connection is removed, replaced or finished with the wrong account.
extension ConnectionService {
    /// Revokes the refresh token and the access token at the provider (RFC 7009, with `token_type_hint`)
    /// when the manifest names an endpoint. Failures are audited; removal goes on regardless.
    public func revokeAtProvider(_ stored: StoredConnection, actor: AuditActor, action: AuditAction = .connectionRevokedAtProvider) async {
        let c = stored.connection
        guard let sealed = stored.sealedCredential, catalog.manifests[c.provider]?.auth.usesOAuthTokens == true else { return }
        let credential: Credential
        do { credential = try await vault.openCredential(sealed, for: c) } catch {
            await audit.record(AuditEvent(
                at: clock.now, actor: actor, action: action, owner: c.owner, provider: c.provider, connectionID: c.id,
                outcome: "failure", detail: (error as? LatchkeyError)?.code.rawValue ?? "internal_error"))
            return
        }
        await revokeGrant(
            credential, provider: c.provider, owner: c.owner, source: c.credentials, config: c.config, connectionID: c.id, actor: actor,
            action: action)
    }

    /// Revokes a grant's tokens at the provider (RFC 7009) when the manifest names an endpoint, and audits the outcome
    /// under `action`, on the app that issued it (`source`). Best effort: a failure is audited, never thrown.
    public func revokeGrant(
        _ credential: Credential, provider: ProviderID, owner: OwnerRef, source: CredentialSource, config: [String: String],
        connectionID: ConnectionID?,
        actor: AuditActor, action: AuditAction
    ) async {
        guard let manifest = catalog.manifests[provider], manifest.auth.usesOAuthTokens,
            credential.refreshToken != nil || credential.accessToken != nil
        else { return }
        do {
            guard let setup = try await setups.setup(for: manifest, owner: owner, source: source), setup.spec.revocationURL != nil
            else { return }
            let (spec, app) = (setup.spec, setup.credentials)
            if let refresh = credential.refreshToken {
                try await oauth.revoke(spec: spec, app: app, token: refresh, hint: "refresh_token", values: config)
            }
            if let access = credential.accessToken {
                try await oauth.revoke(spec: spec, app: app, token: access, hint: "access_token", values: config)
            }
            await audit.record(AuditEvent(
                at: clock.now, actor: actor, action: action, owner: owner, provider: provider, connectionID: connectionID))
        } catch {
            let code = (error as? LatchkeyError)?.code.rawValue ?? "internal_error"
            await audit.record(AuditEvent(
                at: clock.now, actor: actor, action: action, owner: owner, provider: provider, connectionID: connectionID,
                outcome: "failure", detail: code))
        }
    }
}
