import Foundation

/// One grant as stored: a provider's tools, or its proxy rules (methods × path patterns), optionally bound to one
/// connection, an expiry and approval of each call. `LatchkeyGrants` reads it into a checked `Grant`. It is
/// `Codable` for the stores that keep a list of them in one column (a narrowed key's grants).
public struct StoredGrant: Sendable, Hashable, Codable {
    public var provider: ProviderID
    /// The tools granted; empty for a proxy grant.
    public var tools: [String]
    /// The HTTP methods of a proxy grant, upper case; empty for a tool grant.
    public var methods: [String]
    /// The path patterns of a proxy grant, as written (`/repos/acme/*`); empty for a tool grant.
    public var paths: [String]
    public var connection: ConnectionID?
    public var expiresAt: Date?
    /// `none` or `each_call`.
    public var approval: String

    public init(
        provider: ProviderID, tools: [String] = [], methods: [String] = [], paths: [String] = [],
        connection: ConnectionID? = nil, expiresAt: Date? = nil, approval: String = "none"
    ) {
        self.provider = provider
        self.tools = tools
        self.methods = methods
        self.paths = paths
        self.connection = connection
        self.expiresAt = expiresAt
        self.approval = approval
    }
}
