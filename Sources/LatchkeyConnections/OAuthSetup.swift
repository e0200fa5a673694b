import LatchkeyManifest
import LatchkeyOAuth
import LatchkeyStore

/// What an OAuth flow, refresh or revocation runs with: the provider's settings and the client Latchkey is there.
///
/// For a manifest's OAuth 2.0 provider, its `auth` section and the registered app; for a remote MCP server, what
/// discovery found and the client a pre-registered app, Latchkey's client ID metadata document or a registration gave.
public struct OAuthSetup: Sendable {
    /// The endpoints, scopes and client authentication to use.
    public var spec: OAuth2Spec
    /// The app registration used, when there is one (its configured scopes override the defaults).
    public var app: AppRegistration?
    /// The client id and, for a confidential client, the opened secret.
    public var credentials: AppCredentials

    public init(spec: OAuth2Spec, app: AppRegistration?, credentials: AppCredentials) {
        self.spec = spec
        self.app = app
        self.credentials = credentials
    }
}
