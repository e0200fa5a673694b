import Foundation

/// The account a connection acts as, as the provider named it.
public struct AccountIdentity: Sendable, Codable, Equatable {
    public var id: String
    public var name: String?
    public init(id: String, name: String?) {
        self.id = id
        self.name = name
    }
}

/// A connection's metadata: everything about it except the credential, which is sealed separately.
public struct Connection: Sendable, Codable, Equatable {
    public var id: ConnectionID
    public var provider: ProviderID
    public var owner: OwnerRef
    public var state: ConnectionState
    public var account: AccountIdentity?
    /// The scopes that were asked for in the last connect flow.
    public var scopesRequested: [String]
    /// The scopes the provider granted (from the token response, or the requested ones when it is silent).
    public var scopesGranted: [String]
    /// Values supplied at connect time (`connection_config`) and saved from the token response.
    /// Not secret: they are templated into URLs.
    public var config: [String: String]
    public var expiresAt: Date?
    public var lastRefreshedAt: Date?
    public var lastError: String?
    /// Whether this is the owner's default connection of the provider.
    public var isDefault: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// Incremented on every credential write, for compare-and-swap.
    public var version: Int
    /// Whose app issued the tokens: `managed` when the connect flow ran on the platform's app (so refresh and
    /// revocation use it too), `own` otherwise. A platform-owned key is managed whatever this says.
    public var credentials: CredentialSource

    /// Whether the credential is the platform's (its key, or tokens of its app), so calls on it are metered.
    public var isManaged: Bool { owner.isPlatform || credentials == .managed }

    public init(
        id: ConnectionID, provider: ProviderID, owner: OwnerRef, state: ConnectionState,
        account: AccountIdentity? = nil, scopesRequested: [String] = [], scopesGranted: [String] = [],
        config: [String: String] = [:], expiresAt: Date? = nil, lastRefreshedAt: Date? = nil,
        lastError: String? = nil, isDefault: Bool = false, createdAt: Date, updatedAt: Date, version: Int = 0,
        credentials: CredentialSource = .own
    ) {
        self.id = id
        self.provider = provider
        self.owner = owner
        self.state = state
        self.account = account
        self.scopesRequested = scopesRequested
        self.scopesGranted = scopesGranted
        self.config = config
        self.expiresAt = expiresAt
        self.lastRefreshedAt = lastRefreshedAt
        self.lastError = lastError
        self.isDefault = isDefault
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.credentials = credentials
    }
}

/// The secret part of a connection. Only ever stored sealed; never logged or returned.
public struct Credential: Sendable, Codable, Equatable {
    public var accessToken: String?
    public var refreshToken: String?
    public var tokenType: String?
    public var apiKey: String?
    public var username: String?
    public var password: String?

    public init(
        accessToken: String? = nil, refreshToken: String? = nil, tokenType: String? = nil,
        apiKey: String? = nil, username: String? = nil, password: String? = nil
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.tokenType = tokenType
        self.apiKey = apiKey
        self.username = username
        self.password = password
    }
}

extension Credential: CustomStringConvertible, CustomDebugStringConvertible {
    /// Redacted: a credential never prints its values.
    public var description: String { "Credential(redacted)" }
    public var debugDescription: String { description }
}
