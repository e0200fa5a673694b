import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth

/// Finds the ``OAuthSetup`` of a provider for an owner: the one place that knows a manifest's OAuth 2.0 provider from a
/// remote MCP server. A flow's start, its callback, refresh and revocation all ask here, so they agree on the client.
public struct OAuthSetups: Sendable {
    let apps: AppDirectory
    let remote: (any RemoteAuthorization)?

    /// `remote` is nil where remote MCP servers cannot be connected (unit tests of other flows).
    public init(apps: AppDirectory, remote: (any RemoteAuthorization)?) {
        self.apps = apps
        self.remote = remote
    }

    /// The setup of `manifest` for `owner` on the app `source` names; nil when no app (or, for a remote MCP server, no
    /// client) is there. A remote server's pre-registered app comes first; without one, a client is registered only
    /// when `registering` (a flow's start), so that a refresh or revocation never registers one.
    public func setup(for manifest: ProviderManifest, owner: OwnerRef, source: CredentialSource, registering: Bool = false) async throws
        -> OAuthSetup?
    {
        switch manifest.auth {
        case .oauth2(let spec):
            guard let (app, credentials) = try await apps.resolve(provider: manifest.id, for: owner, source: source) else { return nil }
            return OAuthSetup(spec: spec, app: app, credentials: credentials)
        case .remoteMCP:
            guard let remote else {
                throw LatchkeyError(.appNotConfigured, "\(manifest.name) is a remote MCP server, which this process cannot connect")
            }
            var spec = try await remote.spec(for: manifest)
            if let (app, credentials) = try await apps.resolve(provider: manifest.id, for: owner, source: source) {
                if credentials.clientSecret == nil { spec.clientAuth = .none }
                return OAuthSetup(spec: spec, app: app, credentials: credentials)
            }
            guard let client = try await remote.client(for: manifest, spec: spec, owner: owner, registering: registering) else { return nil }
            spec.clientAuth = client.method
            return OAuthSetup(spec: spec, app: nil, credentials: client.credentials)
        case .apiKey, .basic, .none:
            return nil
        }
    }

    /// The settings of a remote MCP server as discovery finds them, before any client is chosen: what its connect page
    /// shows until the person starts the flow. Nil for any other provider.
    public func remoteSpec(for manifest: ProviderManifest) async throws -> OAuth2Spec? {
        guard manifest.auth == .remoteMCP, let remote else { return nil }
        return try await remote.spec(for: manifest)
    }
}
