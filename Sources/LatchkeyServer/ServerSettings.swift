import Foundation

/// The settings the server reads, resolved from `config/latchkey.yaml` and the environment by the executable.
public struct ServerSettings: Sendable {
    /// Where people and providers reach Latchkey, without a trailing slash (e.g. `https://latchkey.example.com`).
    public var publicURL: String
    /// Origins (`scheme://host[:port]`) that a connect session's `return_to` may point at.
    public var returnToAllowlist: [String]
    /// SHA-256 hex of the admin key.
    public var adminKeyHash: String
    /// How long a connect link lives (15 minutes by default).
    public var connectSessionTTL: TimeInterval = 15 * 60
    /// How long an authorization `state` lives (10 minutes by default).
    public var authorizationStateTTL: TimeInterval = 10 * 60
    /// The largest JSON request body the API reads.
    public var maxJSONBodyBytes = 1 << 20

    public init(publicURL: String, returnToAllowlist: [String], adminKeyHash: String) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.returnToAllowlist = returnToAllowlist
        self.adminKeyHash = adminKeyHash
    }

    /// The one exact redirect URI registered with every provider.
    public var callbackURL: String { publicURL + "/oauth/callback" }
    /// Whether cookies must carry `Secure`.
    var isHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }
}
