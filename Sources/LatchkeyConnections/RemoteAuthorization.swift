import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth

/// How a remote MCP server's OAuth is found and which client Latchkey is at its authorization server.
public protocol RemoteAuthorization: Sendable {
    /// The settings discovery finds for the server of `manifest` (a `kind: mcp` provider): endpoints, scopes,
    /// `resource` and `issuer`, PKCE, and the client authentication a confidential client uses there.
    func spec(for manifest: ProviderManifest) async throws -> OAuth2Spec

    /// The client Latchkey is at that server for `owner`'s org when no app is pre-registered: its client ID metadata
    /// document where the server takes one, else the client registered there (RFC 7591), registering one only when
    /// `registering`. Nil when there is none and `registering` is false.
    func client(for manifest: ProviderManifest, spec: OAuth2Spec, owner: OwnerRef, registering: Bool) async throws
        -> (credentials: AppCredentials, method: ClientAuthMethod)?
}
