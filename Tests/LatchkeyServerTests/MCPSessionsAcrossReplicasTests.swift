import Foundation
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyMCP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyStore
import LatchkeyStoreMemory
import Logging
import MCP
import Testing

@testable import LatchkeyServer

/// An MCP session opened on one replica is served by every replica sharing the store, for its own agent and key only.
@Suite struct MCPSessionsAcrossReplicasTests {
    let store = MemoryStore()
    let bot: OwnerRef
    let owner: Caller
    let replicas: [MCPSessions]

    init() throws {
        bot = try OwnerRef(parsing: "agent:acme/core/app/bot")
        owner = .agent(bot, keyHash: SecretHash.sha256Hex("lk_agent_bot"))
        let material = [UInt8](repeating: 7, count: 32)
        var replicas: [MCPSessions] = []
        for _ in 0..<2 {
            let http = CurlHTTPClient()
            let composition = ServerComposition(
                store: store, vault: CredentialVault(keyring: MasterKeyringHolder(try MasterKeyring(masterKeys: [1: material])), dataKeys: store),
                masterKeySource: try EnvironmentMasterKeys(single: Data(material).base64EncodedString(), list: nil), catalog: ProviderCatalog([:]),
                oauth: OAuthClient(transport: http), transport: http,
                settings: ServerSettings(publicURL: "http://127.0.0.1:9", returnToAllowlist: [], adminKeyHash: String(repeating: "0", count: 64)),
                logger: Logger(label: "mcp-replicas"))
            replicas.append(composition.mcpSessions)
        }
        self.replicas = replicas
    }

    static let headers = [
        HTTPHeaderName.accept: "application/json, text/event-stream", HTTPHeaderName.contentType: "application/json",
        HTTPHeaderName.host: "127.0.0.1:9",
    ]

    func request(_ method: String, session: String?, _ json: String? = nil) -> MCP.HTTPRequest {
        var headers = Self.headers
        if let session {
            headers[HTTPHeaderName.sessionID] = session
            headers[HTTPHeaderName.protocolVersion] = "2025-06-18"
        }
        return MCP.HTTPRequest(method: method, headers: headers, body: json.map { Data($0.utf8) })
    }

    /// The JSON-RPC messages of a streamed answer.
    func messages(_ response: MCP.HTTPResponse) async throws -> [[String: JSONValue]] {
        guard case .stream(let stream, _) = response else {
            Issue.record("not a stream: \(response.statusCode) \(String(decoding: response.bodyData ?? Data(), as: UTF8.self))")
            return []
        }
        var text = ""
        for try await chunk in stream { text += String(decoding: chunk, as: UTF8.self) }
        return text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap { JSONValue.parse(Array($0.dropFirst(6).utf8))?.objectValue }
    }

    /// Opens a session of `caller` on `replica` and returns its id, after the client's `initialized`.
    func open(on replica: MCPSessions, as caller: Caller, client: String = "replica-test") async throws -> String {
        let initialize = """
            {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"\(client)","version":"1.0"}}}
            """
        let response = await replica.handle(request("POST", session: nil, initialize), caller: caller)
        let id = try #require(response.headers[HTTPHeaderName.sessionID])
        let answer = try await messages(response)
        #expect(answer.first?["result"]?.objectValue?["serverInfo"]?.objectValue?["name"] == .string("latchkey"))
        let initialized = await replica.handle(
            request("POST", session: id, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), caller: caller)
        #expect(initialized.statusCode == 202)
        return id
    }

    func ping(_ id: String, on replica: MCPSessions, as caller: Caller, requestID: Int) async throws -> MCP.HTTPResponse {
        await replica.handle(request("POST", session: id, #"{"jsonrpc":"2.0","id":\#(requestID),"method":"ping"}"#), caller: caller)
    }

    @Test func aSessionOpenedOnOneReplicaIsServedOnTheOther() async throws {
        let id = try await open(on: replicas[0], as: owner)
        #expect(try await store.mcpSession(idHash: SecretHash.sha256Hex(id))?.agent == "agent:acme/core/app/bot")
        for (n, replica) in [replicas[1], replicas[0], replicas[1]].enumerated() {
            let answer = try await messages(try await ping(id, on: replica, as: owner, requestID: n + 1))
            #expect(answer.count == 1 && answer.first?["id"] == .number(Double(n + 1)) && answer.first?["result"] == .object([:]))
        }
        // The store never holds the id itself.
        #expect(try await store.mcpSession(idHash: id) == nil)
    }

    @Test func anotherAgentOrAnotherKeyOfTheSameAgentGetsNotFoundOnEveryReplica() async throws {
        let id = try await open(on: replicas[0], as: owner)
        let intruder = Caller.agent(try OwnerRef(parsing: "agent:acme/core/app/intruder"), keyHash: SecretHash.sha256Hex("lk_agent_intruder"))
        let otherKey = Caller.agent(bot, keyHash: SecretHash.sha256Hex("lk_agent_bot_narrowed"))
        for replica in replicas {
            for caller in [intruder, otherKey] {
                #expect(try await ping(id, on: replica, as: caller, requestID: 1).statusCode == 404)
            }
        }
        // Their tries closed nothing: the owner's session still answers on both.
        for replica in replicas { #expect(try await messages(try await ping(id, on: replica, as: owner, requestID: 2)).count == 1) }
    }

    @Test func aSessionDeletedOnOneReplicaIsGoneOnTheOther() async throws {
        let id = try await open(on: replicas[0], as: owner)
        #expect(try await messages(try await ping(id, on: replicas[1], as: owner, requestID: 1)).count == 1)
        let deleted = await replicas[1].handle(request("DELETE", session: id), caller: owner)
        #expect(deleted.statusCode == 200)
        #expect(try await store.mcpSession(idHash: SecretHash.sha256Hex(id)) == nil)
        for replica in replicas { #expect(try await ping(id, on: replica, as: owner, requestID: 2).statusCode == 404) }
    }

    @Test func anUnknownSessionIsNotFoundAndInitializeParamsAreBounded() async throws {
        #expect(try await ping("never-opened", on: replicas[1], as: owner, requestID: 1).statusCode == 404)
        let huge = String(repeating: "x", count: 70_000)
        let initialize = """
            {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"\(huge)","version":"1"}}}
            """
        let refused = await replicas[0].handle(request("POST", session: nil, initialize), caller: owner)
        #expect(refused.statusCode == 400 && refused.headers[HTTPHeaderName.sessionID] == nil)
    }
}
