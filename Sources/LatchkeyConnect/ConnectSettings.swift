import Foundation

/// What the connect flow needs to know about where it runs and how long its links and states live.
public struct ConnectSettings: Sendable {
    /// Where people and providers reach Latchkey, without a trailing slash (e.g. `https://latchkey.example.com`).
    public var publicURL: String
    /// Origins (`scheme://host[:port]`) that a connect session's `return_to` may point at.
    public var returnToAllowlist: [String]
    /// How long a connect link lives (15 minutes by default).
    public var linkTTL: TimeInterval
    /// How long an authorization `state` lives (10 minutes by default).
    public var stateTTL: TimeInterval

    public init(publicURL: String, returnToAllowlist: [String], linkTTL: TimeInterval = 15 * 60, stateTTL: TimeInterval = 10 * 60) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.returnToAllowlist = returnToAllowlist
        self.linkTTL = linkTTL
        self.stateTTL = stateTTL
    }

    /// The one exact redirect URI registered with every provider.
    public var callbackURL: String { publicURL + "/oauth/callback" }
}
