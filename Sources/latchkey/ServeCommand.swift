import ArgumentParser
import Foundation
import Hummingbird
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyObservability
import LatchkeyOAuth
import LatchkeyServer
import LatchkeyStore
import LatchkeyStorePostgres
import LatchkeyStoreSQLite
import Logging
import NIOPosix

/// `latchkey serve`: the composition root. Reads configuration, opens the store, loads manifests and runs the server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Latchkey server.")

    @Option(help: "Configuration file (default: config/latchkey.yaml, or LATCHKEY_CONFIG)")
    var config: String?

    @Option(name: .customLong("providers"), help: "A providers directory; repeat for several (default: from the configuration)")
    var providerDirectories: [String] = []

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var settings = try ServiceConfiguration.load(path: config, environment: environment)
        if !providerDirectories.isEmpty { settings.providers = providerDirectories }

        var logger = Logger(label: "latchkey") { StandardErrorLogHandler(label: $0) }
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        // Written at once: standard output is usually a file or a pipe, where `print` would hold the line in its buffer.
        let announce = { (message: String) in FileHandle.standardOutput.write(Data("latchkey: \(message)\n".utf8)) }

        let manifests: [ProviderID: ProviderManifest]
        switch ManifestLoader.load(directories: settings.providers) {
        case .success(let loaded): manifests = loaded
        case .failure(let errors):
            for d in errors.diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
            throw ExitCode(1)
        }

        let store = try await openStore(settings, logger: logger)
        let (masterKeys, keySource) = try LocalSecrets.masterKeys(
            configured: settings.masterKey, configuredList: settings.masterKeys, file: settings.masterKeyFile, announce: announce)
        var keyring: MasterKeyring
        do { keyring = try MasterKeyring(masterKeys: masterKeys) } catch { throw ValidationError(error.message) }
        do {
            keyring = try await LatchkeyApplication.agreedKeyring(keyring, store: store)
        } catch let error as LatchkeyError {
            throw ValidationError(error.message)
        }
        announce("master key versions \(keyring.versions.map(String.init).joined(separator: ", ")) loaded from the \(keySource.kind); current \(keyring.currentVersion)")
        let adminKey = try LocalSecrets.adminKey(configured: settings.adminKey, file: settings.adminKeyFile, announce: announce)
        if settings.adminKey == nil { announce("admin key: read it from \(settings.adminKeyFile)") }

        let trust = OutboundTrust(additionalCAFiles: settings.outboundCAFiles)
        let http: CurlHTTPClient
        do { http = try CurlHTTPClient(trust: trust) } catch let error as OutboundError { throw ValidationError("outbound_ca_files: \(error.message)") }
        defer { http.shutdown() }
        let proxyHTTP = try proxyClient(settings, trust: trust, curl: http, environment: environment, announce: announce)
        defer { (proxyHTTP as? EventLoopHTTPClient)?.shutdown() }
        var oauth = OAuthClient(transport: http)
        oauth.totalTimeout = .milliseconds(Int(settings.providerTimeout * 1000))
        var serverSettings = ServerSettings(
            publicURL: settings.resolvedPublicURL, returnToAllowlist: settings.returnToAllowlist,
            adminKeyHash: SecretHash.sha256Hex(adminKey))
        serverSettings.connectSessionTTL = settings.connectSessionTTL
        serverSettings.signInLinkTTL = settings.signInLinkTTL
        serverSettings.approvalWindow = settings.approvalWindow
        serverSettings.authorizationStateTTL = settings.authorizationStateTTL
        serverSettings.refreshLeaseTTL = settings.refreshLease
        serverSettings.backgroundRefresh = settings.backgroundRefresh
        serverSettings.listenAddress = "\(settings.host):\(settings.port) on \(ProcessInfo.processInfo.hostName)"
        serverSettings.replicaHeartbeatInterval = settings.replicaHeartbeat
        serverSettings.proxyStatsFlushInterval = settings.proxyStatsFlush
        serverSettings.mcpServerSyncInterval = settings.mcpServerSync
        serverSettings.mcpAllowedNetworks = settings.mcpAllowedNetworks.compactMap(AddressRange.init)
        oauth.discoveredEndpointAddresses = .publicOnly(allowing: serverSettings.mcpAllowedNetworks)
        serverSettings.httpLimits.headerTimeout = settings.httpHeaderTimeout
        serverSettings.httpLimits.idleTimeout = settings.httpIdleTimeout
        serverSettings.httpLimits.bodyTimeout = settings.httpBodyTimeout
        serverSettings.httpLimits.maxConnections = settings.httpMaxConnections
        serverSettings.authFailureLimits.perAddress = settings.authFailuresPerAddress
        serverSettings.authFailureLimits.perKind = settings.authFailuresPerKeyKind
        serverSettings.authFailureLimits.window = settings.authFailureWindow
        serverSettings.trustedProxies = settings.trustedProxies.compactMap(AddressRange.init)
        FileDescriptorLimit.raise(toHold: settings.httpMaxConnections, logger: logger)
        let services = ServerComposition(
            store: store, vault: CredentialVault(keyring: MasterKeyringHolder(keyring), dataKeys: store), masterKeySource: keySource, catalog: ProviderCatalog(manifests),
            oauth: oauth, transport: http, proxyTransport: proxyHTTP, settings: serverSettings, logger: logger)
        try await registerConfiguredApps(settings, services: services, environment: environment)
        try await configureSignIn(settings, services: services, environment: environment)
        try await services.mcpServers.sync()

        announce("\(services.catalog.manifests.count) provider(s) loaded; listening on \(settings.host):\(settings.port); public URL \(settings.resolvedPublicURL)")
        let app = LatchkeyApplication.build(services, host: settings.host, port: settings.port, openAPI: OpenAPIDocument.text)
        try await app.runService()
    }

    /// The client of proxied and tool calls: the event-loop client on the server's own loops, unless `proxy_client` is
    /// `curl` or the environment names an HTTP proxy (which only curl honors), when it is `curl`.
    func proxyClient(
        _ settings: ServiceConfiguration, trust: OutboundTrust, curl: CurlHTTPClient, environment: [String: String],
        announce: (String) -> Void
    ) throws -> any HTTPTransport {
        guard settings.proxyClient == .eventLoop else {
            announce("proxied calls go through libcurl (proxy_client: curl)")
            return curl
        }
        let proxyVariables = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        if let variable = proxyVariables.first(where: { !(environment[$0] ?? "").isEmpty }) {
            announce("proxied calls go through libcurl: \(variable) names an outbound proxy, which only curl honors")
            return curl
        }
        do {
            let client = try EventLoopHTTPClient(group: MultiThreadedEventLoopGroup.singleton, trust: trust)
            announce("proxied calls run on the server's event loops (proxy_client: event-loop)")
            return client
        } catch let error as OutboundError {
            throw ValidationError("outbound_ca_files: \(error.message)")
        }
    }

    /// The store `LATCHKEY_DATABASE_URL` names: `sqlite:PATH` (the embedded default) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`, shared by several replicas.
    func openStore(_ settings: ServiceConfiguration, logger: Logger) async throws -> any LatchkeyStorage {
        let url = settings.databaseURL
        if let path = settings.sqlitePath {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            return try SQLiteStore(path: path)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            do {
                return try await PostgresStore(url: url, logger: logger)
            } catch let error as LatchkeyError {
                throw ValidationError("LATCHKEY_DATABASE_URL: \(error.message)")
            }
        }
        throw ValidationError("LATCHKEY_DATABASE_URL: expected sqlite:PATH or postgres://...")
    }

    /// Configures the identity providers listed under `sign_in:`, creating their orgs when missing.
    func configureSignIn(_ settings: ServiceConfiguration, services: ServerComposition, environment: [String: String]) async throws {
        for (org, entry) in settings.signIn.sorted(by: { $0.key < $1.key }) {
            let owner = try OwnerRef(kind: .org, path: org, field: "sign_in.\(org)")
            if try await !services.store.ownerExists(owner) { try await services.store.createOwner(owner, at: Date()) }
            try await LatchkeyApplication.configureSignIn(
                services, org: owner,
                issuer: try ServiceConfiguration.expand(entry.issuer, environment: environment, field: "sign_in.\(org).issuer"),
                clientID: try ServiceConfiguration.expand(entry.client_id, environment: environment, field: "sign_in.\(org).client_id"),
                clientSecret: try entry.client_secret.map {
                    try ServiceConfiguration.expand($0, environment: environment, field: "sign_in.\(org).client_secret")
                })
        }
    }

    /// Registers the apps listed under `apps:` in the configuration, creating their org owners when missing.
    func registerConfiguredApps(_ settings: ServiceConfiguration, services: ServerComposition, environment: [String: String]) async throws {
        for (provider, entry) in settings.apps.sorted(by: { $0.key < $1.key }) {
            guard services.catalog.manifests[ProviderID(provider)] != nil else {
                throw ValidationError("apps.\(provider): no such provider is loaded")
            }
            let owner = try OwnerRef(parsing: entry.owner, field: "apps.\(provider).owner")
            for up in owner.inheritanceChain.reversed() where !(try await services.store.ownerExists(up)) {
                guard up.kind == .org else { throw ValidationError("apps.\(provider).owner: \(up) does not exist") }
                try await services.store.createOwner(up, at: Date())
            }
            let secret = try entry.client_secret.map {
                try ServiceConfiguration.expand($0, environment: environment, field: "apps.\(provider).client_secret")
            }
            let clientID = try ServiceConfiguration.expand(entry.client_id, environment: environment, field: "apps.\(provider).client_id")
            try await LatchkeyApplication.registerApp(
                services, provider: ProviderID(provider), owner: owner, clientID: clientID, clientSecret: secret,
                scopes: entry.scopes ?? [])
        }
    }
}
