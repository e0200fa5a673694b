import Foundation
import LatchkeyHTTP
import LatchkeyConnect

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
    /// How long an admin's sign-in link for a person works (single use).
    public var signInLinkTTL: TimeInterval = 15 * 60
    /// How long a call that needs a person's approval waits for a decision (30 minutes by default).
    public var approvalWindow: TimeInterval = 30 * 60
    /// The largest JSON request body the API reads.
    public var maxJSONBodyBytes = 1 << 20
    /// Whether this process refreshes tokens ahead of time (on by default). With it off, tokens are refreshed on
    /// use only, by whichever process a call reaches (e.g. to let only some replicas run the refresher).
    public var backgroundRefresh = true
    /// How long this process may hold a connection's refresh lease (30 s by default); longer than a token call.
    public var refreshLeaseTTL: TimeInterval = 30
    /// How often this process adds its proxy call counts to the store for the dashboard (5 s by default); another
    /// replica's dashboard shows a call at most this much later.
    public var proxyStatsFlushInterval: TimeInterval = 5
    /// How often this process reads the remote MCP servers admins added on any replica (5 s by default).
    public var mcpServerSyncInterval: TimeInterval = 5
    /// How often the store's change log is read for the caches (a SQL store); a write elsewhere holds here within one
    /// second as long as reads succeed.
    public var changeLogInterval: TimeInterval = 0.25
    /// Networks remote MCP servers' URLs may reach although private, link-local or reserved (`mcp_allowed_networks`).
    public var mcpAllowedNetworks: [AddressRange] = []
    /// How many failed authentications a client address (or a kind of key) may have in a window (`auth_failures_*`).
    public var authFailureLimits = AuthFailureLimiter.Limits()
    /// Reverse proxies whose `X-Forwarded-For` names the client, for the per-address limits (`trusted_proxies`).
    public var trustedProxies: [AddressRange] = []
    /// The HTTP server's timeouts and connection cap (`http_*`).
    public var httpLimits = HTTPServerLimits()
    /// This process, as a refresh-lease holder: host, pid and a random part, unique per start.
    public var instanceID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0...UInt32.max))"

    /// Where this process listens (`host:port`), shown to operators in the replica list.
    public var listenAddress = ""
    /// How often this process tells the store it is alive and which master keys it holds (2 s by default). A replica
    /// not heard from for ``replicaLiveness`` counts as gone.
    public var replicaHeartbeatInterval: TimeInterval = 2
    /// How long after its last heartbeat a replica still counts as running: five heartbeats.
    public var replicaLiveness: TimeInterval { replicaHeartbeatInterval * 5 }

    public init(publicURL: String, returnToAllowlist: [String], adminKeyHash: String) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.returnToAllowlist = returnToAllowlist
        self.adminKeyHash = adminKeyHash
    }

    /// The one exact redirect URI registered with every provider.
    public var callbackURL: String { publicURL + "/oauth/callback" }
    /// What the connect flow needs of these settings.
    var connect: ConnectSettings {
        ConnectSettings(
            publicURL: publicURL, returnToAllowlist: returnToAllowlist, linkTTL: connectSessionTTL, stateTTL: authorizationStateTTL)
    }
    /// Whether cookies must carry `Secure`.
    var isHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }
}
