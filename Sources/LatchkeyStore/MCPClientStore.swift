import Foundation
import LatchkeyModel

/// The client Latchkey registered (RFC 7591) at a remote MCP server's authorization server for one org.
public struct StoredMCPClient: Sendable, Equatable {
    public var provider: ProviderID
    public var org: String
    /// The authorization server it was registered at: a server that moves to another issuer gets a new client.
    public var issuer: String
    public var clientID: String
    /// The client secret, sealed for the org's data key and bound to this row; nil for a public client.
    public var sealedSecret: [UInt8]?
    /// The `token_endpoint_auth_method` the server registered.
    public var authMethod: String
    /// When the secret expires (`client_secret_expires_at`); nil when it does not.
    public var secretExpiresAt: Date?
    public var registeredAt: Date

    public init(
        provider: ProviderID, org: String, issuer: String, clientID: String, sealedSecret: [UInt8]?, authMethod: String,
        secretExpiresAt: Date?, registeredAt: Date
    ) {
        self.provider = provider
        self.org = org
        self.issuer = issuer
        self.clientID = clientID
        self.sealedSecret = sealedSecret
        self.authMethod = authMethod
        self.secretExpiresAt = secretExpiresAt
        self.registeredAt = registeredAt
    }

    /// The row id a sealed secret is bound to.
    public static func rowID(provider: ProviderID, org: String) -> String { "\(provider.rawValue)|\(org)" }
}

/// Clients registered at remote MCP servers, one per server and org, shared by every replica.
///
/// Contract: `saveMCPClient` writes `client` only when the (provider, org) row is absent (`replacing` nil) or still
/// holds the client id `replacing`, and returns whether it wrote, so two replicas registering at once keep one client.
/// `deleteMCPClients` removes a server's clients and returns how many. A row that cannot be read is `malformed_row`.
public protocol MCPClientStore: Sendable {
    func mcpClient(provider: ProviderID, org: String) async throws -> StoredMCPClient?
    func saveMCPClient(_ client: StoredMCPClient, replacing: String?) async throws -> Bool
    func deleteMCPClients(provider: ProviderID) async throws -> Int
}
