import LatchkeyModel

/// A validated provider manifest, loaded from `providers/<id>.yaml`.
///
/// Every URL in it has been checked: https (http only to loopback), and placeholders limited to
/// `connection_config` names and values saved from the token response.
public struct ProviderManifest: Sendable, Equatable {
    /// The fields, behind one reference: a copy of a manifest (the catalog hands one out for every proxied call) costs
    /// one retain instead of one for each string, array and URL in it, and its 750 bytes are not copied
    /// (benchmarks/README.md, session 22). A change makes a new box; manifests change only when loaded or registered.
    private var box: Box

    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private struct Fields: Sendable, Equatable {
        var id: ProviderID
        var name: String
        var docs: String
        var categories: [String]
        var auth: AuthSpec
        var connectionConfig: [ConnectionConfigField]
        var proxy: ProxySpec?
        var pricing: Pricing
        var tools: [ToolSpec]
        var sourcePath: String
        var kind: ProviderKind
        var mcp: RemoteMCPSpec?
        var origin: ManifestOrigin
    }

    private mutating func change(_ edit: (inout Fields) -> Void) {
        var fields = box.fields
        edit(&fields)
        box = Box(fields)
    }

    public var id: ProviderID {
        get { box.fields.id }
        set { change { $0.id = newValue } }
    }
    public var name: String {
        get { box.fields.name }
        set { change { $0.name = newValue } }
    }
    public var docs: String {
        get { box.fields.docs }
        set { change { $0.docs = newValue } }
    }
    public var categories: [String] {
        get { box.fields.categories }
        set { change { $0.categories = newValue } }
    }
    public var auth: AuthSpec {
        get { box.fields.auth }
        set { change { $0.auth = newValue } }
    }
    public var connectionConfig: [ConnectionConfigField] {
        get { box.fields.connectionConfig }
        set { change { $0.connectionConfig = newValue } }
    }
    public var proxy: ProxySpec? {
        get { box.fields.proxy }
        set { change { $0.proxy = newValue } }
    }
    public var pricing: Pricing {
        get { box.fields.pricing }
        set { change { $0.pricing = newValue } }
    }
    public var tools: [ToolSpec] {
        get { box.fields.tools }
        set { change { $0.tools = newValue } }
    }
    /// The file this manifest came from, for diagnostics.
    public var sourcePath: String {
        get { box.fields.sourcePath }
        set { change { $0.sourcePath = newValue } }
    }
    /// An HTTP API, or a remote MCP server (`kind: mcp`).
    public var kind: ProviderKind {
        get { box.fields.kind }
        set { change { $0.kind = newValue } }
    }
    /// The remote MCP server, for `kind: mcp`.
    public var mcp: RemoteMCPSpec? {
        get { box.fields.mcp }
        set { change { $0.mcp = newValue } }
    }
    /// A file, or an admin's API call.
    public var origin: ManifestOrigin {
        get { box.fields.origin }
        set { change { $0.origin = newValue } }
    }

    public init(
        id: ProviderID, name: String, docs: String, categories: [String], auth: AuthSpec,
        connectionConfig: [ConnectionConfigField], proxy: ProxySpec?, pricing: Pricing, tools: [ToolSpec],
        sourcePath: String, kind: ProviderKind = .api, mcp: RemoteMCPSpec? = nil, origin: ManifestOrigin = .file
    ) {
        box = Box(Fields(
            id: id, name: name, docs: docs, categories: categories, auth: auth, connectionConfig: connectionConfig, proxy: proxy,
            pricing: pricing, tools: tools, sourcePath: sourcePath, kind: kind, mcp: mcp, origin: origin))
    }

    public static func == (lhs: ProviderManifest, rhs: ProviderManifest) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    /// The tool named `name`, if the manifest has one.
    public func tool(named name: String) -> ToolSpec? { tools.first { $0.name == name } }
}

/// How a provider authenticates.
public enum AuthSpec: Sendable, Equatable {
    case oauth2(OAuth2Spec)
    case apiKey(APIKeySpec)
    case basic(BasicSpec)
    case none
    /// OAuth 2.1 as the MCP authorization specification says: the endpoints are found by discovery at connect time
    /// and the client is pre-registered, named by Latchkey's client ID metadata document, or registered (RFC 7591).
    case remoteMCP

    public var mode: String {
        switch self {
        case .oauth2, .remoteMCP: "oauth2"
        case .apiKey: "api_key"
        case .basic: "basic"
        case .none: "none"
        }
    }

    public var oauth2: OAuth2Spec? { if case .oauth2(let s) = self { s } else { nil } }

    /// Whether connections hold OAuth tokens, which refresh, revocation and a 401's forced refresh apply to.
    public var usesOAuthTokens: Bool {
        switch self {
        case .oauth2, .remoteMCP: true
        case .apiKey, .basic, .none: false
        }
    }

    /// Whether an OAuth app (client id and secret) may be registered for the provider: required for OAuth 2.0
    /// manifests, optional (pre-registered) for remote MCP servers.
    public var takesApps: Bool {
        switch self {
        case .oauth2, .remoteMCP: true
        case .apiKey, .basic, .none: false
        }
    }
}

/// How the client authenticates at the token endpoint (RFC 6749 section 2.3.1), or `none` for a public client
/// (its `client_id` in the body, PKCE as its proof; RFC 7591's `token_endpoint_auth_method`).
public enum ClientAuthMethod: String, Sendable, Equatable, CaseIterable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
    case none
}

/// The encoding of a token request's body.
public enum BodyFormat: String, Sendable, Equatable, CaseIterable {
    case form, json
}

/// The OAuth 2.0 authorization-code settings of a provider.
public struct OAuth2Spec: Sendable, Equatable {
    public var authorizationURL: URLTemplate
    public var tokenURL: URLTemplate
    public var revocationURL: URLTemplate?
    public var scopes: [String]
    public var scopeSeparator: String
    public var pkce: Bool
    public var clientAuth: ClientAuthMethod
    public var tokenRequestFormat: BodyFormat
    public var authorizationParams: [String: String]
    public var tokenParams: [String: String]
    public var tokenResponse: TokenResponsePaths
    /// The lifetime assumed when a token response carries no expiry and the token is no JWT with `exp`.
    /// Nil means the provider documents that its access tokens never expire.
    public var defaultTokenLifetime: Int?
    public var issuer: String?
    public var resource: String?
    public var identity: IdentitySpec?
    /// Whether `client_id` also goes in the body of token and revocation requests under HTTP Basic (RFC 6749 allows
    /// it; the MCP SDK's authorization server requires it). Set for remote MCP servers, not read from manifests.
    public var clientIDInBody = false
    /// Whether the endpoints came from a server's own metadata (a remote MCP server's discovery) rather than from a
    /// manifest an admin chose: calls to them reach only the addresses allowed for such URLs.
    public var endpointsDiscovered = false

    public init(
        authorizationURL: URLTemplate, tokenURL: URLTemplate, revocationURL: URLTemplate? = nil,
        scopes: [String] = [], scopeSeparator: String = " ", pkce: Bool = true,
        clientAuth: ClientAuthMethod = .clientSecretBasic, tokenRequestFormat: BodyFormat = .form,
        authorizationParams: [String: String] = [:], tokenParams: [String: String] = [:],
        tokenResponse: TokenResponsePaths = TokenResponsePaths(), defaultTokenLifetime: Int?,
        issuer: String? = nil, resource: String? = nil, identity: IdentitySpec? = nil
    ) {
        self.authorizationURL = authorizationURL
        self.tokenURL = tokenURL
        self.revocationURL = revocationURL
        self.scopes = scopes
        self.scopeSeparator = scopeSeparator
        self.pkce = pkce
        self.clientAuth = clientAuth
        self.tokenRequestFormat = tokenRequestFormat
        self.authorizationParams = authorizationParams
        self.tokenParams = tokenParams
        self.tokenResponse = tokenResponse
        self.defaultTokenLifetime = defaultTokenLifetime
        self.issuer = issuer
        self.resource = resource
        self.identity = identity
    }
}

/// Where the fields of a token response live: dotted paths into its JSON.
public struct TokenResponsePaths: Sendable, Equatable {
    public enum ExpiryUnit: String, Sendable, Equatable, CaseIterable { case seconds, milliseconds }

    public var accessToken = "access_token"
    public var refreshToken = "refresh_token"
    public var expiresIn = "expires_in"
    public var expiresInUnit = ExpiryUnit.seconds
    public var scope = "scope"
    public var tokenType = "token_type"
    /// Connection values saved from the response: name to path (e.g. `instance_url`).
    public var save: [String: String] = [:]

    public init() {}
}

/// How to learn which account a credential belongs to.
public struct IdentitySpec: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Ask the provider: the credential is injected as for a proxied call.
        case request(url: URLTemplate, method: String, headers: [String: String], body: String?)
        /// Read it from the token response (Slack, Notion).
        case tokenResponse
    }

    public var source: Source
    /// Dotted path to a stable account id.
    public var idPath: String
    /// Dotted path to a display name.
    public var namePath: String?

    public init(source: Source, idPath: String, namePath: String?) {
        self.source = source
        self.idPath = idPath
        self.namePath = namePath
    }
}

public struct APIKeySpec: Sendable, Equatable {
    public var label: String
    public var helpURL: String?
    public var identity: IdentitySpec?
    public init(label: String, helpURL: String?, identity: IdentitySpec?) {
        self.label = label
        self.helpURL = helpURL
        self.identity = identity
    }
}

public struct BasicSpec: Sendable, Equatable {
    public var usernameLabel: String
    public var passwordLabel: String
    public var identity: IdentitySpec?
    public init(usernameLabel: String, passwordLabel: String, identity: IdentitySpec?) {
        self.usernameLabel = usernameLabel
        self.passwordLabel = passwordLabel
        self.identity = identity
    }
}

/// A value a person supplies at connect time, such as a subdomain or tenant.
public struct ConnectionConfigField: Sendable, Equatable {
    public var name: String
    public var label: String
    /// The regular expression the whole value must match.
    public var pattern: String
    public var defaultValue: String?
    public init(name: String, label: String, pattern: String, defaultValue: String?) {
        self.name = name
        self.label = label
        self.pattern = pattern
        self.defaultValue = defaultValue
    }
}

/// How proxied calls reach the provider.
public struct ProxySpec: Sendable, Equatable {
    public var baseURL: URLTemplate
    /// Headers every proxied call carries unless the caller sends its own of the same name.
    public var headers: [String: String] {
        didSet { headersInOrder = Self.inOrder(headers) }
    }
    /// ``headers`` sorted by name, as they are sent: sorted once, when set, instead of on every call.
    public private(set) var headersInOrder: [(name: String, value: String)]
    public var inject: Injection?
    public var rateLimit: RateLimitSpec?
    /// Whether 429, 502, 503 and 504 are retried for every method, not only the idempotent ones
    /// (`retry_non_idempotent: true`, for APIs whose writes are idempotent by design, e.g. with idempotency keys).
    public var retryNonIdempotent: Bool
    public init(
        baseURL: URLTemplate, headers: [String: String], inject: Injection?, rateLimit: RateLimitSpec?, retryNonIdempotent: Bool = false
    ) {
        self.baseURL = baseURL
        self.headers = headers
        self.headersInOrder = Self.inOrder(headers)
        self.inject = inject
        self.rateLimit = rateLimit
        self.retryNonIdempotent = retryNonIdempotent
    }

    private static func inOrder(_ headers: [String: String]) -> [(name: String, value: String)] {
        headers.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    /// Equal when what a manifest says is equal; ``headersInOrder`` follows from ``headers``.
    public static func == (lhs: ProxySpec, rhs: ProxySpec) -> Bool {
        lhs.baseURL == rhs.baseURL && lhs.headers == rhs.headers && lhs.inject == rhs.inject && lhs.rateLimit == rhs.rateLimit
            && lhs.retryNonIdempotent == rhs.retryNonIdempotent
    }
}

/// Where the credential goes on an outbound request.
public enum Injection: Sendable, Equatable {
    /// A header whose value is `format` with `{access_token}`, `{api_key}`, `{username}` or `{password}` filled in.
    case header(name: String, format: PlaceholderTemplate)
    /// A query parameter (only when the provider's API requires it).
    case query(name: String, format: PlaceholderTemplate)
    /// HTTP basic auth from two templates.
    case basic(username: PlaceholderTemplate, password: PlaceholderTemplate)
}

public struct RateLimitSpec: Sendable, Equatable {
    public enum ResetFormat: String, Sendable, Equatable, CaseIterable {
        case epochSeconds = "epoch_seconds", deltaSeconds = "delta_seconds"
    }
    public var remainingHeader: String
    public var resetHeader: String
    public var resetFormat: ResetFormat
    public init(remainingHeader: String, resetHeader: String, resetFormat: ResetFormat) {
        self.remainingHeader = remainingHeader
        self.resetHeader = resetHeader
        self.resetFormat = resetFormat
    }
}

public enum Pricing: Sendable, Equatable {
    case free
    case metered(creditsPerCall: Int)
}

/// A tool: one provider API call with typed arguments.
public struct ToolSpec: Sendable, Equatable {
    public enum Access: String, Sendable, Equatable, CaseIterable { case read, write }
    /// Whether an agent's call of the tool runs at once, or waits for a person to approve that one call.
    public enum Approval: String, Sendable, Equatable, CaseIterable {
        case none
        case eachCall = "each_call"
    }
    public var name: String
    public var description: String
    public var access: Access
    public var method: String
    public var path: String
    public var query: [String: String]
    public var body: JSONValue?
    public var bodyFormat: BodyFormat
    public var headers: [String: String]
    /// The JSON Schema of the arguments (an object schema).
    public var input: JSONValue
    /// `each_call` when every agent's call waits for approval, whatever its grants say.
    public var approval: Approval
    public init(
        name: String, description: String, access: Access, method: String, path: String,
        query: [String: String], body: JSONValue?, bodyFormat: BodyFormat, headers: [String: String], input: JSONValue,
        approval: Approval = .none
    ) {
        self.name = name
        self.description = description
        self.access = access
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.bodyFormat = bodyFormat
        self.headers = headers
        self.input = input
        self.approval = approval
    }
}
