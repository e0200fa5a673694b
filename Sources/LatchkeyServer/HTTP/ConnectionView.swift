import Foundation
import LatchkeyModel

/// The public shape of a connection in API answers. Never carries a credential.
struct ConnectionView: Encodable {
    // Every field is always present; an unknown value is `null`, as the contract lists them.
    let id: String
    let provider: String
    let owner: String
    let state: String
    @Nullable var account: String?
    @Nullable var account_id: String?
    let scopes: [String]
    let scopes_requested: [String]
    let config: [String: String]
    let is_default: Bool
    @Nullable var expires_at: Date?
    @Nullable var last_refreshed_at: Date?
    @Nullable var last_error: String?
    let created_at: Date

    init(_ c: Connection) {
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
    }
}
