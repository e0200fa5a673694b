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
///
/// Its fields sit behind one reference: the caches hand out a copy for every proxied call, which is then one retain
/// instead of one for each string, array and dictionary in it (benchmarks/README.md, session 22). A change makes a new
/// box; its JSON is the fields' own.
public struct Connection: Sendable, Codable, Equatable {
    private var box: Box

    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private struct Fields: Sendable, Codable, Equatable {
        var id: ConnectionID
        var provider: ProviderID
        var owner: OwnerRef
        var state: ConnectionState
        var account: AccountIdentity?
        var scopesRequested: [String]
        var scopesGranted: [String]
        var config: [String: String]
        var expiresAt: Date?
        var lastRefreshedAt: Date?
        var lastError: String?
        var isDefault: Bool
        var createdAt: Date
        var updatedAt: Date
        var version: Int
        var credentials: CredentialSource
    }

    private mutating func change(_ edit: (inout Fields) -> Void) {
        var fields = box.fields
        edit(&fields)
        box = Box(fields)
    }

    public var id: ConnectionID {
        get { box.fields.id }
        set { change { $0.id = newValue } }
    }
    public var provider: ProviderID {
        get { box.fields.provider }
        set { change { $0.provider = newValue } }
    }
    public var owner: OwnerRef {
        get { box.fields.owner }
        set { change { $0.owner = newValue } }
    }
    public var state: ConnectionState {
        get { box.fields.state }
        set { change { $0.state = newValue } }
    }
    public var account: AccountIdentity? {
        get { box.fields.account }
        set { change { $0.account = newValue } }
    }
    /// The scopes that were asked for in the last connect flow.
    public var scopesRequested: [String] {
        get { box.fields.scopesRequested }
        set { change { $0.scopesRequested = newValue } }
    }
    /// The scopes the provider granted (from the token response, or the requested ones when it is silent).
    public var scopesGranted: [String] {
        get { box.fields.scopesGranted }
        set { change { $0.scopesGranted = newValue } }
    }
    /// Values supplied at connect time (`connection_config`) and saved from the token response.
    /// Not secret: they are templated into URLs.
    public var config: [String: String] {
        get { box.fields.config }
        set { change { $0.config = newValue } }
    }
    public var expiresAt: Date? {
        get { box.fields.expiresAt }
        set { change { $0.expiresAt = newValue } }
    }
    public var lastRefreshedAt: Date? {
        get { box.fields.lastRefreshedAt }
        set { change { $0.lastRefreshedAt = newValue } }
    }
    public var lastError: String? {
        get { box.fields.lastError }
        set { change { $0.lastError = newValue } }
    }
    /// Whether this is the owner's default connection of the provider.
    public var isDefault: Bool {
        get { box.fields.isDefault }
        set { change { $0.isDefault = newValue } }
    }
    public var createdAt: Date {
        get { box.fields.createdAt }
        set { change { $0.createdAt = newValue } }
    }
    public var updatedAt: Date {
        get { box.fields.updatedAt }
        set { change { $0.updatedAt = newValue } }
    }
    /// Incremented on every credential write, for compare-and-swap.
    public var version: Int {
        get { box.fields.version }
        set { change { $0.version = newValue } }
    }
    /// Whose app issued the tokens: `managed` when the connect flow ran on the platform's app (so refresh and
    /// revocation use it too), `own` otherwise. A platform-owned key is managed whatever this says.
    public var credentials: CredentialSource {
        get { box.fields.credentials }
        set { change { $0.credentials = newValue } }
    }

    /// Whether the credential is the platform's (its key, or tokens of its app), so calls on it are metered.
    public var isManaged: Bool { owner.isPlatform || credentials == .managed }

    public init(
        id: ConnectionID, provider: ProviderID, owner: OwnerRef, state: ConnectionState,
        account: AccountIdentity? = nil, scopesRequested: [String] = [], scopesGranted: [String] = [],
        config: [String: String] = [:], expiresAt: Date? = nil, lastRefreshedAt: Date? = nil,
        lastError: String? = nil, isDefault: Bool = false, createdAt: Date, updatedAt: Date, version: Int = 0,
        credentials: CredentialSource = .own
    ) {
        box = Box(Fields(
            id: id, provider: provider, owner: owner, state: state, account: account, scopesRequested: scopesRequested,
            scopesGranted: scopesGranted, config: config, expiresAt: expiresAt, lastRefreshedAt: lastRefreshedAt, lastError: lastError,
            isDefault: isDefault, createdAt: createdAt, updatedAt: updatedAt, version: version, credentials: credentials))
    }

    public init(from decoder: any Decoder) throws {
        box = Box(try Fields(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try box.fields.encode(to: encoder)
    }

    public static func == (lhs: Connection, rhs: Connection) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
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
