import Foundation
import Hummingbird
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyServer
import LatchkeyStore
import LatchkeyStoreSQLite
import Logging

/// Latchkey as `latchkey serve` composes it (a SQLite store in a scratch folder, its change feed running), every
/// outbound call going to one upstream, and the proxy benchmark's world: org `bench`, its team, project and
/// agent, and an API-key connection of provider `bench` at the agent.
struct LatchkeyInProcess {
    let client: InProcessClient<LatchkeyResponder>
    /// The agent's key.
    let agentKey: String
    let feed: Task<Void, any Error>

    /// The benchmarks' provider (`benchmarks/bench-provider.yaml`), its upstream on loopback `port`.
    static func manifest(port: Int) throws -> ProviderManifest {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bench-provider.yaml")
        let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "@UPSTREAM_PORT@", with: "\(port)")
        return try ManifestParser.parse(yaml: text, file: file.path, expectedID: "bench").get()
    }

    /// Latchkey with every outbound call going to `upstream`, the provider's base URL on loopback `port`.
    static func start(folder: String, upstream: any HTTPTransport, port: Int, logger: Logger) async throws -> LatchkeyInProcess {
        let store = try SQLiteStore(path: folder + "/db.sqlite")
        let material = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let keyring = try await LatchkeyApplication.agreedKeyring(try MasterKeyring(masterKeys: [1: material]), store: store)
        let manifest = try manifest(port: port)
        let adminKey = "bench-admin-" + RandomToken.base32(bytes: 10)
        let composition = ServerComposition(
            store: store, vault: CredentialVault(keyring: MasterKeyringHolder(keyring), dataKeys: store),
            masterKeySource: try EnvironmentMasterKeys(single: Data(material).base64EncodedString(), list: nil),
            catalog: ProviderCatalog([manifest.id: manifest]), oauth: OAuthClient(transport: upstream), transport: upstream,
            settings: ServerSettings(publicURL: "http://127.0.0.1:\(port)", returnToAllowlist: [], adminKeyHash: SecretHash.sha256Hex(adminKey)),
            logger: logger)
        let feed = LatchkeyApplication.changeFeed(composition)
        let client = try InProcessClient(LatchkeyApplication.responder(composition, openAPI: ""), logger: logger)

        for (path, json) in [
            ("/v1/admin/orgs", #"{"id":"bench"}"#), ("/v1/admin/teams", #"{"org":"bench","id":"t"}"#),
            ("/v1/admin/projects", #"{"team":"bench/t","id":"p"}"#),
        ] {
            try await expectCreated(client.call(.post, path, key: adminKey, json: json), path)
        }
        let agent = try await client.call(.post, "/v1/admin/agents", key: adminKey, json: #"{"project":"bench/t/p","id":"a"}"#)
        try expectCreated(agent, "/v1/admin/agents")
        guard let object = try JSONSerialization.jsonObject(with: Data(agent.1.utf8)) as? [String: Any], let key = object["api_key"] as? String else {
            throw BenchmarkFailure("POST /v1/admin/agents gave no api_key")
        }
        try await expectCreated(
            client.call(
                .post, "/v1/admin/connections", key: adminKey,
                json: #"{"provider":"bench","owner":"agent:bench/t/p/a","api_key":"upstream-token"}"#),
            "/v1/admin/connections")
        return LatchkeyInProcess(client: client, agentKey: key, feed: Task { try await feed?.run() })
    }

    private static func expectCreated(_ answer: (Int, String), _ path: String) throws {
        guard (200..<300).contains(answer.0) else { throw BenchmarkFailure("POST \(path): \(answer.0) \(answer.1)") }
    }
}
