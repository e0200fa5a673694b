// swift-tools-version:6.2
import PackageDescription

/// Async functions run on their caller's executor unless marked `@concurrent` (SE-0461). The server's tasks run on
/// NIO's event loops, where every hop to the generic executor was a trip through the loop's queue: about 60 per proxied
/// call (benchmarks/overhead). Every target builds with it, since it changes how async function types are mangled.
let nonsendingByDefault: SwiftSetting = .enableUpcomingFeature("NonisolatedNonsendingByDefault")

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    nonsendingByDefault,
]

let package = Package(
    name: "latchkey",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "latchkey", targets: ["latchkey"]),
        .executable(name: "latchkey-fuzz", targets: ["latchkey-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", exact: "0.12.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
    ],
    targets: [
        // Domain: owners, ids, connection lifecycle, typed errors. No I/O.
        .target(name: "LatchkeyModel", swiftSettings: swiftSettings),
        // Provider manifests: YAML into validated manifests with file:line diagnostics.
        .target(
            name: "LatchkeyManifest",
            dependencies: ["LatchkeyModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Envelope encryption: master keyring, per-owner data keys, AES-256-GCM with AAD.
        .target(
            name: "LatchkeyCrypto",
            dependencies: ["LatchkeyModel", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Store protocols and the credential vault that seals what they hold.
        .target(
            name: "LatchkeyStore",
            dependencies: ["LatchkeyModel", "LatchkeyCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The embedded SQLite store (system libsqlite3 through GRDB).
        .target(
            name: "LatchkeyStoreSQLite",
            dependencies: ["LatchkeyStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        // The shared PostgreSQL store for several replicas (postgres-nio's pooled client).
        .target(
            name: "LatchkeyStorePostgres",
            dependencies: [
                "LatchkeyStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every flow shares to wait and to count time: the injected clock, single flight, group commit, wake signals.
        .target(name: "LatchkeyRuntime", swiftSettings: swiftSettings),
        // The in-memory store, for fast unit tests of services and single-process experiments; nothing survives a restart.
        .target(name: "LatchkeyStoreMemory", dependencies: ["LatchkeyStore", "LatchkeyModel"], swiftSettings: swiftSettings),
        // libcurl, with typed shims for its variadic functions.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The async outbound HTTP client on curl's multi interface.
        // Outbound HTTP: libcurl for OAuth calls, an HTTP/1.1 client on the server's event loops for proxied calls.
        .target(
            name: "LatchkeyHTTP",
            dependencies: [
                "CCurl", "LatchkeyModel", "LatchkeyRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings),
        // OAuth 2.0 flows: authorization URL, code exchange, identity lookup, token parsing.
        .target(
            name: "LatchkeyOAuth",
            dependencies: ["LatchkeyModel", "LatchkeyManifest", "LatchkeyHTTP", "LatchkeyCrypto"],
            swiftSettings: swiftSettings
        ),
        // OpenID Connect: ID token verification against a JWKS and discovery documents. No I/O.
        .target(
            name: "LatchkeyOIDC",
            dependencies: ["LatchkeyModel", .product(name: "JWTKit", package: "jwt-kit")],
            swiftSettings: swiftSettings
        ),
        // Carrying an agent's call or tool call to a provider: the URL guard, header policy, tool templating and schema checks,
        // credits, retries, refresh-and-retry on 401, rate-limit holds, and the per-hour call counts.
        .target(
            name: "LatchkeyProxy",
            dependencies: [
                "LatchkeyModel", "LatchkeyManifest", "LatchkeyHTTP", "LatchkeyOAuth", "LatchkeyStore", "LatchkeyRuntime", "LatchkeyConnections",
                "LatchkeyTokens", "LatchkeyObservability", "LatchkeyGrants", "LatchkeyRemoteMCP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Latchkey's metrics (swift-metrics with an explicit Prometheus registry) and their text exposition.
        .target(
            name: "LatchkeyObservability",
            dependencies: [
                "LatchkeyModel", "LatchkeyRuntime",
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every call on a connection shares: OAuth app registrations up the owner chain, and the hot path's caches.
        .target(
            name: "LatchkeyConnections",
            dependencies: ["LatchkeyModel", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyOAuth", "LatchkeyRuntime", "LatchkeyManifest"],
            swiftSettings: swiftSettings
        ),
        // Usable credentials: the token broker (single-flight refresh under a lease, RefreshMachine's decisions, backoff),
        // the background refresher and forced refreshes.
        .target(
            name: "LatchkeyTokens",
            dependencies: [
                "LatchkeyModel", "LatchkeyManifest", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyOAuth", "LatchkeyRuntime",
                "LatchkeyConnections", "LatchkeyObservability", "LatchkeyWebhooks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Connecting accounts: connect links, the authorization-code flow (state, PKCE, the account a reconnect is bound
        // to), the API-key form, and saving, removing and revoking connections.
        .target(
            name: "LatchkeyConnect",
            dependencies: [
                "LatchkeyModel", "LatchkeyManifest", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyOAuth", "LatchkeyRuntime",
                "LatchkeyConnections", "LatchkeyWebhooks",
            ],
            swiftSettings: swiftSettings
        ),
        // Agents over MCP: sessions bound to their agent over Streamable HTTP, and the tool server (granted tools and the
        // management tools) on the tool runner's typed outcomes.
        .target(
            name: "LatchkeyMCP",
            dependencies: [
                "LatchkeyAPI", "LatchkeyModel", "LatchkeyManifest", "LatchkeyStore", "LatchkeyRuntime", "LatchkeyProxy", "LatchkeyConnect",
                "LatchkeyApprovals", "LatchkeyRemoteMCP", "LatchkeyCrypto",
                .product(name: "MCP", package: "swift-sdk"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Capability grants: tool and proxy-rule capabilities, path patterns, what a set of grants allows and whether a
        // narrower one stays within it (all pure); the access guard that holds agents to them under their org's
        // policy; and the directory that stores and audits grants and policies.
        .target(
            name: "LatchkeyGrants", dependencies: ["LatchkeyModel", "LatchkeyStore", "LatchkeyRuntime", "LatchkeyManifest", "LatchkeyAPI", "LatchkeyCrypto"],
            swiftSettings: swiftSettings),
        // Approvals of single calls: the filer that holds a call a grant (or tool) says needs a person, and the desk that
        // decides, runs each approved call exactly once as its agent, and hands the agent the answer.
        .target(
            name: "LatchkeyApprovals",
            dependencies: [
                "LatchkeyAPI", "LatchkeyConnections", "LatchkeyCrypto", "LatchkeyHTTP", "LatchkeyManifest", "LatchkeyModel", "LatchkeyProxy",
                "LatchkeyRuntime", "LatchkeyStore",
            ],
            swiftSettings: swiftSettings),
        // Remote MCP servers: how each is authorized (RFC 9728 protected resource metadata, RFC 8414 / OpenID
        // discovery), under the outbound URL rules, with documents cached as their headers allow.
        .target(
            name: "LatchkeyRemoteMCP",
            dependencies: [
                "LatchkeyModel", "LatchkeyHTTP", "LatchkeyManifest", "LatchkeyOAuth", "LatchkeyRuntime", "LatchkeyStore", "LatchkeyConnections",
                "LatchkeyCrypto", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        // The JSON shapes of the admin and agent APIs, shared by the server, the CLI and MCP. No I/O.
        .target(name: "LatchkeyAPI", dependencies: ["LatchkeyModel"], swiftSettings: swiftSettings),
        // Master keys across replicas: rotation in resumable batches, the replicas' agreement, heartbeats, integrity checks.
        .target(
            name: "LatchkeyKeys",
            dependencies: [
                "LatchkeyAPI", "LatchkeyModel", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Org webhooks: registration with a sealed signing secret, durable event queuing, signed delivery with retries.
        .target(
            name: "LatchkeyWebhooks",
            dependencies: [
                "LatchkeyModel", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyHTTP", "LatchkeyRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Hummingbird server: routes, pages, the one place errors become HTTP.
        .target(
            name: "LatchkeyServer",
            dependencies: [
                "LatchkeyModel", "LatchkeyManifest", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyHTTP", "LatchkeyOAuth",
                "LatchkeyProxy", "LatchkeyOIDC", "LatchkeyRuntime", "LatchkeyWebhooks", "LatchkeyKeys", "LatchkeyAPI", "LatchkeyObservability", "LatchkeyConnections", "LatchkeyTokens",
                "LatchkeyConnect", "LatchkeyMCP", "LatchkeyGrants", "LatchkeyApprovals", "LatchkeyRemoteMCP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedOpenAPIDocument"]
        ),
        // Bundles docs/openapi.yaml with the server at build time (no copy in the sources).
        .plugin(name: "EmbedOpenAPIDocument", capability: .buildTool(), path: "Sources/EmbedOpenAPIDocument"),
        // The composition root: configuration, store selection, CLI.
        .executableTarget(
            name: "latchkey",
            dependencies: [
                "LatchkeyServer", "LatchkeyStoreSQLite", "LatchkeyStorePostgres", "LatchkeyManifest", "LatchkeyHTTP", "LatchkeyAPI", "LatchkeyRemoteMCP", "LatchkeyRuntime", "LatchkeyModel",
                "LatchkeyObservability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Connection-lookup latency at 1,000 and 1,000,000 connections on both stores (benchmarks/lookup/run.sh).
        .executableTarget(
            name: "latchkey-bench-lookup",
            dependencies: [
                "LatchkeyModel", "LatchkeyCrypto", "LatchkeyStore", "LatchkeyStoreSQLite", "LatchkeyStorePostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "benchmarks/lookup",
            exclude: ["run.sh"],
            swiftSettings: swiftSettings
        ),
        // The route of a bare forwarder, with none of Latchkey's logic (rows (d) of the proxy and overhead benchmarks).
        .target(
            name: "LatchkeyBenchForwarding",
            dependencies: [
                "LatchkeyHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "benchmarks/forwarding",
            swiftSettings: swiftSettings
        ),
        // Row (d) of the proxy benchmark: a bare forwarder on the proxy's client (benchmarks/proxy/run.sh).
        .executableTarget(
            name: "latchkey-bench-forwarder",
            dependencies: [
                "LatchkeyBenchForwarding", "LatchkeyHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "benchmarks/forwarder",
            swiftSettings: swiftSettings
        ),
        // Latchkey's proxy route against the bare forwarder's, in process, CPU per call (benchmarks/overhead).
        .executableTarget(
            name: "latchkey-bench-overhead",
            dependencies: [
                "LatchkeyBenchForwarding", "LatchkeyServer", "LatchkeyHTTP", "LatchkeyCrypto", "LatchkeyManifest", "LatchkeyModel",
                "LatchkeyOAuth", "LatchkeyStore", "LatchkeyStoreSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "benchmarks/overhead",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LatchkeyModelTests", dependencies: ["LatchkeyModel"]),
        .testTarget(name: "LatchkeyRuntimeTests", dependencies: ["LatchkeyRuntime"]),
        .testTarget(
            name: "LatchkeyGrantsTests",
            dependencies: [
                "LatchkeyGrants", "LatchkeyModel", "LatchkeyStore", "LatchkeyStoreMemory", "LatchkeyRuntime", "LatchkeyManifest", "LatchkeyCrypto",
                "LatchkeyTestSupport",
            ]),
        // Test doubles shared by the services' unit tests: a provider in memory and a connection harness on the memory store.
        .target(
            name: "LatchkeyTestSupport",
            dependencies: [
                "LatchkeyTokens", "LatchkeyStoreMemory", "LatchkeyStore", "LatchkeyRuntime", "LatchkeyModel", "LatchkeyManifest",
                "LatchkeyOAuth", "LatchkeyHTTP", "LatchkeyCrypto", "LatchkeyConnections", "LatchkeyWebhooks", "LatchkeyObservability",
                "LatchkeyConnect",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/LatchkeyTestSupport"
        ),
        .testTarget(
            name: "LatchkeyTokensTests",
            dependencies: ["LatchkeyTokens", "LatchkeyTestSupport", "LatchkeyStore", "LatchkeyModel"]
        ),
        .testTarget(
            name: "LatchkeyConnectTests",
            dependencies: [
                "LatchkeyConnect", "LatchkeyTestSupport", "LatchkeyConnections", "LatchkeyOAuth", "LatchkeyStore", "LatchkeyModel", "LatchkeyRuntime",
                "LatchkeyWebhooks", "LatchkeyManifest", "LatchkeyCrypto",
            ]
        ),
        // The parsers that read what strangers send, as fuzz targets (`make fuzz`; `swift test` replays the corpus).
        .target(
            name: "LatchkeyFuzzing",
            dependencies: ["LatchkeyManifest", "LatchkeyModel", "LatchkeyOAuth", "LatchkeyProxy", "LatchkeyCrypto", "LatchkeyHTTP"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "latchkey-fuzz", dependencies: ["LatchkeyFuzzing"], swiftSettings: swiftSettings),
        .testTarget(name: "LatchkeyFuzzingTests", dependencies: ["LatchkeyFuzzing"]),
        .testTarget(
            name: "LatchkeyMCPTests", dependencies: ["LatchkeyMCP", "LatchkeyModel", .product(name: "MCP", package: "swift-sdk")]),
        .testTarget(
            name: "LatchkeyConnectionsTests",
            dependencies: [
                "LatchkeyConnections", "LatchkeyModel", "LatchkeyStore", "LatchkeyStoreMemory", "LatchkeyTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "LatchkeyRemoteMCPTests",
            dependencies: [
                "LatchkeyRemoteMCP", "LatchkeyHTTP", "LatchkeyModel", "LatchkeyRuntime", "LatchkeyManifest", "LatchkeyStore",
                "LatchkeyStoreMemory", "LatchkeyConnections", "LatchkeyCrypto", "LatchkeyOAuth", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "LatchkeyManifestTests", dependencies: ["LatchkeyManifest"], exclude: ["Fixtures"]),
        .testTarget(name: "LatchkeyCryptoTests", dependencies: ["LatchkeyCrypto"]),
        .testTarget(
            name: "LatchkeyKeysTests",
            dependencies: [
                "LatchkeyKeys", "LatchkeyCrypto", "LatchkeyModel", "LatchkeyRuntime", "LatchkeyStore", "LatchkeyStoreMemory",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LatchkeyStoreTests",
            dependencies: [
                "LatchkeyStore", "LatchkeyStoreSQLite", "LatchkeyStorePostgres", "LatchkeyStoreMemory", "LatchkeyCrypto", "LatchkeyModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LatchkeyHTTPTests",
            dependencies: ["LatchkeyHTTP", .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "LatchkeyOAuthTests", dependencies: ["LatchkeyOAuth"]),
        .testTarget(
            name: "LatchkeyOIDCTests",
            dependencies: [
                "LatchkeyOIDC", "LatchkeyModel",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "LatchkeyProxyTests",
            dependencies: [
                "LatchkeyProxy", "LatchkeyHTTP", "LatchkeyManifest", "LatchkeyTestSupport", "LatchkeyConnections", "LatchkeyStore",
                "LatchkeyModel", "LatchkeyRuntime", "LatchkeyObservability", "LatchkeyGrants",
            ]
        ),
        .testTarget(
            name: "LatchkeyApprovalsTests",
            dependencies: [
                "LatchkeyApprovals", "LatchkeyTestSupport", "LatchkeyProxy", "LatchkeyConnections", "LatchkeyGrants", "LatchkeyStore",
                "LatchkeyModel", "LatchkeyRuntime", "LatchkeyObservability",
            ]
        ),
        .testTarget(
            name: "LatchkeyServerTests",
            dependencies: [
                "LatchkeyServer", "LatchkeyProxy", "LatchkeyStore", "LatchkeyStoreSQLite", "LatchkeyStoreMemory", "LatchkeyCrypto", "LatchkeyHTTP",
                "LatchkeyManifest", "LatchkeyOAuth", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
    ]
)

for target in package.targets where [.regular, .executable, .test].contains(target.type) && target.swiftSettings == nil {
    target.swiftSettings = [nonsendingByDefault]
}
