import ArgumentParser
import Foundation
import LatchkeyHTTP
import LatchkeyModel
import Yams

/// `config/latchkey.yaml`, with every key overridable by a `LATCHKEY_*` environment variable.
///
/// Keys (environment variable in brackets):
/// - `host` [`LATCHKEY_HOST`], default `127.0.0.1`; `port` [`LATCHKEY_PORT`], default 8080
/// - `public_url` [`LATCHKEY_PUBLIC_URL`], default `http://{host}:{port}`; the callback is `{public_url}/oauth/callback`
/// - `database_url` [`LATCHKEY_DATABASE_URL`], default `sqlite:.latchkey/latchkey.db`; or
///   `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]` for replicas sharing one PostgreSQL
/// - `master_key_file` [`LATCHKEY_MASTER_KEY_FILE`], default `.latchkey/master.key`: lines `VERSION:BASE64` (a
///   line of base64 alone is version 1); or the keys themselves, in the environment only (never in the
///   configuration file): [`LATCHKEY_MASTER_KEY`], base64 of 32 bytes, is version 1, and
///   [`LATCHKEY_MASTER_KEYS`] lists `VERSION:BASE64` items separated by commas (`2:...,1:...`). The highest
///   version is current.
/// - `admin_key_file` [`LATCHKEY_ADMIN_KEY_FILE`], default `.latchkey/admin.key`; or the key in [`LATCHKEY_ADMIN_KEY`]
/// - `providers` [`LATCHKEY_PROVIDERS`, directories separated by `:`], default `[providers]`
/// - `return_to_allowlist` [`LATCHKEY_RETURN_TO_ALLOWLIST`, comma-separated origins]
/// - `log_level` [`LATCHKEY_LOG_LEVEL`], default `info`
/// - `connect_session_ttl_seconds` [`LATCHKEY_CONNECT_SESSION_TTL_SECONDS`], default 900
/// - `authorization_state_ttl_seconds` [`LATCHKEY_AUTHORIZATION_STATE_TTL_SECONDS`], default 600
/// - `sign_in_link_ttl_seconds` [`LATCHKEY_SIGN_IN_LINK_TTL_SECONDS`], default 900: how long an admin's sign-in link for
///   a person works
/// - `approval_window_seconds` [`LATCHKEY_APPROVAL_WINDOW_SECONDS`], default 1800: how long a call that needs a
///   person's approval waits for a decision before it expires
/// - `provider_timeout_seconds` [`LATCHKEY_PROVIDER_TIMEOUT_SECONDS`], default 15: total time for token and identity calls
/// - `background_refresh` [`LATCHKEY_BACKGROUND_REFRESH`, `on` or `off`], default on: refresh tokens ahead of time
/// - `refresh_lease_seconds` [`LATCHKEY_REFRESH_LEASE_SECONDS`], default 30: how long one process may hold a
///   connection's refresh before another may take over; must exceed `provider_timeout_seconds`
/// - `replica_heartbeat_seconds` [`LATCHKEY_REPLICA_HEARTBEAT_SECONDS`], default 2: how often a replica records in
///   the database that it runs and which master keys it holds (a replica silent for five heartbeats counts as gone)
/// - `proxy_stats_flush_seconds` [`LATCHKEY_PROXY_STATS_FLUSH_SECONDS`], default 5: how often each process adds its
///   proxy call counts to the store, so every replica's dashboard shows them
/// - `mcp_server_sync_seconds` [`LATCHKEY_MCP_SERVER_SYNC_SECONDS`], default 5: how often each process reads the
///   remote MCP servers that admins added or removed on other replicas
/// - `apps`: OAuth apps registered at start-up, keyed by provider id:
///   `{owner, client_id, client_secret, scopes}`; values may reference the environment as `${NAME}`.
/// - `sign_in`: each org's OpenID Connect identity provider for people at `/me`, keyed by org id:
///   `{issuer, client_id, client_secret}`; values may reference the environment as `${NAME}`. Its discovery document
///   is read at the first sign-in, not at start-up.
struct ServiceConfiguration {
    var host = "127.0.0.1"
    var port = 8080
    var publicURL: String?
    var databaseURL = "sqlite:.latchkey/latchkey.db"

    /// The file of the embedded database when `databaseURL` names one (`sqlite:PATH`); nil for PostgreSQL.
    var sqlitePath: String? { databaseURL.hasPrefix("sqlite:") ? String(databaseURL.dropFirst("sqlite:".count)) : nil }
    var masterKey: String?
    var masterKeys: String?
    var masterKeyFile = ".latchkey/master.key"
    var adminKey: String?
    var adminKeyFile = ".latchkey/admin.key"
    var providers = ["providers"]
    var returnToAllowlist: [String] = []
    var logLevel = "info"
    var apps: [String: AppEntry] = [:]
    var signIn: [String: SignInEntry] = [:]
    var connectSessionTTL: TimeInterval = 15 * 60
    var authorizationStateTTL: TimeInterval = 10 * 60
    var signInLinkTTL: TimeInterval = 15 * 60
    var approvalWindow: TimeInterval = 30 * 60
    var providerTimeout: TimeInterval = 15
    var refreshLease: TimeInterval = 30
    var backgroundRefresh = true
    var replicaHeartbeat: TimeInterval = 2
    var proxyStatsFlush: TimeInterval = 5
    var mcpServerSync: TimeInterval = 5
    /// Networks (CIDR) that remote MCP servers' URLs may reach although private, link-local or reserved.
    var mcpAllowedNetworks: [String] = []
    var httpHeaderTimeout: TimeInterval = 10
    var httpIdleTimeout: TimeInterval = 60
    var httpBodyTimeout: TimeInterval = 60
    var httpMaxConnections = 4096
    var authFailuresPerAddress = 20
    var authFailuresPerKeyKind = 200
    var authFailureWindow: TimeInterval = 60
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` names the client.
    var trustedProxies: [String] = []
    /// PEM files of certificate authorities that outbound HTTPS trusts besides the system's.
    var outboundCAFiles: [String] = []
    /// Which client carries proxied and tool calls: `event-loop` (on the server's own loops) or `curl`.
    var proxyClient = ProxyClient.eventLoop

    /// The client of the proxy's hot path.
    enum ProxyClient: String, CaseIterable {
        case eventLoop = "event-loop"
        case curl
    }

    struct AppEntry: Decodable {
        var owner: String
        var client_id: String
        var client_secret: String?
        var scopes: [String]?
    }

    struct SignInEntry: Decodable {
        var issuer: String
        var client_id: String
        var client_secret: String?
    }

    struct File: Decodable {
        var host: String?
        var port: Int?
        var public_url: String?
        var database_url: String?
        var master_key_file: String?
        var admin_key_file: String?
        var providers: [String]?
        var return_to_allowlist: [String]?
        var log_level: String?
        var apps: [String: AppEntry]?
        var sign_in: [String: SignInEntry]?
        var connect_session_ttl_seconds: Double?
        var authorization_state_ttl_seconds: Double?
        var sign_in_link_ttl_seconds: Double?
        var provider_timeout_seconds: Double?
        var refresh_lease_seconds: Double?
        var background_refresh: Bool?
        var replica_heartbeat_seconds: Double?
        var proxy_stats_flush_seconds: Double?
        var mcp_server_sync_seconds: Double?
        var mcp_allowed_networks: [String]?
        var approval_window_seconds: Double?
        var http_header_timeout_seconds: Double?
        var http_idle_timeout_seconds: Double?
        var http_body_timeout_seconds: Double?
        var http_max_connections: Int?
        var auth_failures_per_address: Int?
        var auth_failures_per_key_kind: Int?
        var auth_failure_window_seconds: Double?
        var trusted_proxies: [String]?
        var outbound_ca_files: [String]?
        var proxy_client: String?
    }

    /// Reads the file (when it exists) and applies environment overrides.
    static func load(path: String?, environment: [String: String]) throws -> ServiceConfiguration {
        var config = ServiceConfiguration()
        let filePath = path ?? environment["LATCHKEY_CONFIG"] ?? "config/latchkey.yaml"
        if let data = FileManager.default.contents(atPath: filePath) {
            let text = String(decoding: data, as: UTF8.self)
            var file = File()
            do {
                if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    file = try YAMLDecoder().decode(File.self, from: text)
                }
            } catch {
                throw ValidationError("\(filePath): \(error)")
            }
            if let v = file.host { config.host = v }
            if let v = file.port { config.port = v }
            if let v = file.public_url { config.publicURL = v }
            if let v = file.database_url { config.databaseURL = v }
            if let v = file.master_key_file { config.masterKeyFile = v }
            if let v = file.admin_key_file { config.adminKeyFile = v }
            if let v = file.providers { config.providers = v }
            if let v = file.return_to_allowlist { config.returnToAllowlist = v }
            if let v = file.log_level { config.logLevel = v }
            if let v = file.apps { config.apps = v }
            if let v = file.sign_in { config.signIn = v }
            if let v = file.connect_session_ttl_seconds { config.connectSessionTTL = v }
            if let v = file.authorization_state_ttl_seconds { config.authorizationStateTTL = v }
            if let v = file.sign_in_link_ttl_seconds { config.signInLinkTTL = v }
            if let v = file.provider_timeout_seconds { config.providerTimeout = v }
            if let v = file.refresh_lease_seconds { config.refreshLease = v }
            if let v = file.background_refresh { config.backgroundRefresh = v }
            if let v = file.replica_heartbeat_seconds { config.replicaHeartbeat = v }
            if let v = file.proxy_stats_flush_seconds { config.proxyStatsFlush = v }
            if let v = file.mcp_server_sync_seconds { config.mcpServerSync = v }
            if let v = file.mcp_allowed_networks { config.mcpAllowedNetworks = v }
            if let v = file.approval_window_seconds { config.approvalWindow = v }
            if let v = file.http_header_timeout_seconds { config.httpHeaderTimeout = v }
            if let v = file.http_idle_timeout_seconds { config.httpIdleTimeout = v }
            if let v = file.http_body_timeout_seconds { config.httpBodyTimeout = v }
            if let v = file.http_max_connections { config.httpMaxConnections = v }
            if let v = file.auth_failures_per_address { config.authFailuresPerAddress = v }
            if let v = file.auth_failures_per_key_kind { config.authFailuresPerKeyKind = v }
            if let v = file.auth_failure_window_seconds { config.authFailureWindow = v }
            if let v = file.trusted_proxies { config.trustedProxies = v }
            if let v = file.outbound_ca_files { config.outboundCAFiles = v }
            if let v = file.proxy_client {
                guard let client = ProxyClient(rawValue: v) else {
                    throw ValidationError("proxy_client: '\(v.prefix(40))' is not event-loop or curl")
                }
                config.proxyClient = client
            }
        } else if path != nil || environment["LATCHKEY_CONFIG"] != nil {
            throw ValidationError("\(filePath): the configuration file does not exist")
        }
        let env = { (name: String) -> String? in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let v = env("LATCHKEY_HOST") { config.host = v }
        if let v = env("LATCHKEY_PORT") {
            guard let port = Int(v), (0...65535).contains(port) else { throw ValidationError("LATCHKEY_PORT: '\(v)' is not a port") }
            config.port = port
        }
        if let v = env("LATCHKEY_PUBLIC_URL") { config.publicURL = v }
        if let v = env("LATCHKEY_DATABASE_URL") { config.databaseURL = v }
        if let v = env("LATCHKEY_MASTER_KEY") { config.masterKey = v }
        if let v = env("LATCHKEY_MASTER_KEYS") { config.masterKeys = v }
        if let v = env("LATCHKEY_MASTER_KEY_FILE") { config.masterKeyFile = v }
        if let v = env("LATCHKEY_ADMIN_KEY") { config.adminKey = v }
        if let v = env("LATCHKEY_ADMIN_KEY_FILE") { config.adminKeyFile = v }
        if let v = env("LATCHKEY_PROVIDERS") { config.providers = v.split(separator: ":").map(String.init) }
        if let v = env("LATCHKEY_RETURN_TO_ALLOWLIST") {
            config.returnToAllowlist = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let v = env("LATCHKEY_LOG_LEVEL") { config.logLevel = v }
        func seconds(_ name: String) throws -> Double? {
            guard let v = env(name) else { return nil }
            guard let d = Double(v), d > 0 else { throw ValidationError("\(name): '\(v)' is not a positive number of seconds") }
            return d
        }
        if let v = try seconds("LATCHKEY_CONNECT_SESSION_TTL_SECONDS") { config.connectSessionTTL = v }
        if let v = try seconds("LATCHKEY_AUTHORIZATION_STATE_TTL_SECONDS") { config.authorizationStateTTL = v }
        if let v = try seconds("LATCHKEY_SIGN_IN_LINK_TTL_SECONDS") { config.signInLinkTTL = v }
        if let v = try seconds("LATCHKEY_PROVIDER_TIMEOUT_SECONDS") { config.providerTimeout = v }
        if let v = try seconds("LATCHKEY_REFRESH_LEASE_SECONDS") { config.refreshLease = v }
        if let v = try seconds("LATCHKEY_REPLICA_HEARTBEAT_SECONDS") { config.replicaHeartbeat = v }
        if let v = try seconds("LATCHKEY_PROXY_STATS_FLUSH_SECONDS") { config.proxyStatsFlush = v }
        if let v = try seconds("LATCHKEY_MCP_SERVER_SYNC_SECONDS") { config.mcpServerSync = v }
        /// A comma-separated list of networks in CIDR notation, each checked.
        func networks(_ name: String, setting: String, into list: inout [String]) throws {
            if let v = env(name) { list = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            for network in list where AddressRange(network) == nil {
                throw ValidationError("\(setting): '\(network.prefix(60))' is not an IPv4 or IPv6 network in CIDR notation (10.0.0.0/8)")
            }
        }
        func count(_ name: String) throws -> Int? {
            guard let v = env(name) else { return nil }
            guard let n = Int(v) else { throw ValidationError("\(name): '\(v.prefix(20))' is not a whole number") }
            return n
        }
        try networks("LATCHKEY_MCP_ALLOWED_NETWORKS", setting: "mcp_allowed_networks", into: &config.mcpAllowedNetworks)
        if let v = try seconds("LATCHKEY_APPROVAL_WINDOW_SECONDS") { config.approvalWindow = v }
        if let v = try seconds("LATCHKEY_HTTP_HEADER_TIMEOUT_SECONDS") { config.httpHeaderTimeout = v }
        if let v = try seconds("LATCHKEY_HTTP_IDLE_TIMEOUT_SECONDS") { config.httpIdleTimeout = v }
        if let v = try seconds("LATCHKEY_HTTP_BODY_TIMEOUT_SECONDS") { config.httpBodyTimeout = v }
        if let v = try count("LATCHKEY_HTTP_MAX_CONNECTIONS") { config.httpMaxConnections = v }
        for (name, value) in [
            ("http_header_timeout_seconds", config.httpHeaderTimeout), ("http_idle_timeout_seconds", config.httpIdleTimeout),
            ("http_body_timeout_seconds", config.httpBodyTimeout),
        ] where !(value > 0 && value.isFinite) {
            throw ValidationError("\(name) (\(value)) must be a positive number of seconds")
        }
        if let v = try count("LATCHKEY_AUTH_FAILURES_PER_ADDRESS") { config.authFailuresPerAddress = v }
        if let v = try count("LATCHKEY_AUTH_FAILURES_PER_KEY_KIND") { config.authFailuresPerKeyKind = v }
        if let v = try seconds("LATCHKEY_AUTH_FAILURE_WINDOW_SECONDS") { config.authFailureWindow = v }
        try networks("LATCHKEY_TRUSTED_PROXIES", setting: "trusted_proxies", into: &config.trustedProxies)
        if let v = env("LATCHKEY_OUTBOUND_CA_FILES") {
            config.outboundCAFiles = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let v = env("LATCHKEY_PROXY_CLIENT") {
            guard let client = ProxyClient(rawValue: v) else {
                throw ValidationError("LATCHKEY_PROXY_CLIENT: '\(v.prefix(40))' is not event-loop or curl")
            }
            config.proxyClient = client
        }
        guard config.authFailuresPerAddress >= 1, config.authFailuresPerKeyKind >= 1, config.authFailureWindow > 0 else {
            throw ValidationError("auth_failures_per_address and auth_failures_per_key_kind must be at least 1, auth_failure_window_seconds positive")
        }
        guard config.httpMaxConnections >= 1 else {
            throw ValidationError("http_max_connections (\(config.httpMaxConnections)) must be at least 1")
        }
        if let v = env("LATCHKEY_BACKGROUND_REFRESH") {
            switch v.lowercased() {
            case "on", "true", "1": config.backgroundRefresh = true
            case "off", "false", "0": config.backgroundRefresh = false
            default: throw ValidationError("LATCHKEY_BACKGROUND_REFRESH: '\(v)' is not on or off")
            }
        }
        guard config.proxyStatsFlush > 0 else {
            throw ValidationError("proxy_stats_flush_seconds (\(config.proxyStatsFlush)) must be a positive number of seconds")
        }
        guard config.mcpServerSync > 0 else {
            throw ValidationError("mcp_server_sync_seconds (\(config.mcpServerSync)) must be a positive number of seconds")
        }
        guard config.refreshLease > config.providerTimeout else {
            // A lease that lapses while its holder still waits for the provider lets a second process refresh with
            // the same refresh token, which a rotating provider then treats as reuse.
            throw ValidationError(
                "refresh_lease_seconds (\(config.refreshLease)) must be longer than provider_timeout_seconds (\(config.providerTimeout))")
        }
        return config
    }

    var resolvedPublicURL: String { publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// Replaces `${NAME}` with the environment's value; fails naming the variable when it is unset.
    static func expand(_ text: String, environment: [String: String], field: String) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ValidationError("\(field): unterminated ${")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else { throw ValidationError("\(field): environment variable \(name) is not set") }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }
}
