import Foundation
import LatchkeyModel

/// The public shape of a connection in API answers. Never carries a credential.
public struct ConnectionView: Encodable, Sendable {
    // Every field is always present; an unknown value is `null`, as the contract lists them.
    public let id: String
    public let provider: String
    public let owner: String
    public let state: String
    @Nullable public var account: String?
    @Nullable public var account_id: String?
    public let scopes: [String]
    public let scopes_requested: [String]
    public let config: [String: String]
    public let is_default: Bool
    @Nullable public var expires_at: Date?
    @Nullable public var last_refreshed_at: Date?
    @Nullable public var last_error: String?
    public let created_at: Date
    /// `managed` when the credential is the platform's (its key, or tokens of its app), else `own`.
    public let credentials: String

    public init(_ c: Connection) {
        id = c.id.rawValue
        provider = c.provider.rawValue
        owner = c.owner.description
        state = c.state.rawValue
        account = c.account?.name ?? c.account?.id
        account_id = c.account?.id
        scopes = c.scopesGranted
        scopes_requested = c.scopesRequested
        config = c.config
        is_default = c.isDefault
        expires_at = c.expiresAt
        last_refreshed_at = c.lastRefreshedAt
        last_error = c.lastError
        created_at = c.createdAt
        credentials = c.isManaged ? CredentialSource.managed.rawValue : CredentialSource.own.rawValue
    }
}
