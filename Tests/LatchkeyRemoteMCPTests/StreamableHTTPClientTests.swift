import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRemoteMCP
import Testing

/// The client half of MCP's Streamable HTTP transport: JSON or SSE answers, the session id carried on, the token
/// sent on every request, and each way a request can fail told apart.
@Suite struct StreamableHTTPClientTests {
    static let url = "https://mcp.example.com/mcp"

    /// A server that answers `initialize` with a session id and then each method from `answers` (an SSE body unless
    /// `json`), recording what it was sent.
    final class FakeServer: HTTPTransport, @unchecked Sendable {
        var sent: [OutboundRequest] = []
        let lock = NSLock()
        let answer: @Sendable (String, JSONValue) -> OutboundResponse

        init(_ answer: @escaping @Sendable (String, JSONValue) -> OutboundResponse) { self.answer = answer }

        func send(_ request: OutboundRequest) async throws -> OutboundResponse {
            lock.withLock { sent.append(request) }
            let body = JSONValue.parse(request.body ?? []) ?? .null
            return answer(body.objectValue?["method"]?.stringValue ?? "", body)
        }
    }

    static func sse(_ messages: String...) -> OutboundResponse {
        let body = messages.map { "event: message\r\ndata: \($0)\r\n\r\n" }.joined()
        return OutboundResponse(status: 200, headers: [OutboundHeader(name: "Content-Type", value: "text/event-stream")], body: Array(body.utf8))
    }

    static func standard(_ method: String, _ body: JSONValue) -> OutboundResponse {
        let id = body.objectValue?["id"]?.numberValue.map { String(Int($0)) } ?? "null"
        switch method {
        case "initialize":
            var answer = sse(#"{"jsonrpc":"2.0","id":\#(id),"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}}}}"#)
            answer.headers.append(OutboundHeader(name: "Mcp-Session-Id", value: "sess-1"))
            return answer
        case "notifications/initialized":
            return OutboundResponse(status: 202)
        case "tools/list" where body.objectValue?["params"]?.objectValue?["cursor"] == nil:
            return sse(
                #"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"listing"}}"#,
                #"{"jsonrpc":"2.0","id":\#(id),"result":{"tools":[{"name":"list_notes","description":"Notes.","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}},{"name":"bad name!"},{"name":"add_note","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}},"annotations":{"readOnlyHint":"yes"}}],"nextCursor":"p2"}}"#)
        case "tools/list":
            return OutboundResponse(
                status: 200, headers: [OutboundHeader(name: "Content-Type", value: "application/json")],
                body: Array(#"{"jsonrpc":"2.0","id":\#(id),"result":{"tools":[{"name":"delete_note","annotations":{"destructiveHint":true}}]}}"#.utf8))
        case "tools/call":
            return sse(#"{"jsonrpc":"2.0","id":\#(id),"result":{"content":[{"type":"text","text":"kept 1"}],"isError":false}}"#)
        default:
            return sse(#"{"jsonrpc":"2.0","id":\#(id),"error":{"code":-32601,"message":"Method not found"}}"#)
        }
    }

    @Test func aSessionIsOpenedAndCarriedOnWithTheTokenOnEveryRequest() async throws {
        let server = FakeServer(Self.standard)
        let client = StreamableHTTPClient(transport: server)
        let session = try await client.open(url: Self.url, token: "tok-1")
        #expect(session == RemoteMCPSession(url: Self.url, sessionID: "sess-1", protocolVersion: "2025-06-18"))
        let result = try await client.callTool(session, name: "add_note", arguments: .object(["text": .string("x")]), token: "tok-1")
        #expect(result.objectValue?["content"]?.arrayValue?.first?.objectValue?["text"] == .string("kept 1"))
        let sent = server.sent
        #expect(sent.map { JSONValue.parse($0.body ?? [])?.objectValue?["method"]?.stringValue } == ["initialize", "notifications/initialized", "tools/call"])
        #expect(sent.allSatisfy { $0.url == Self.url && !$0.followRedirects && $0.header("Authorization") == "Bearer tok-1" })
        #expect(sent[0].header("Mcp-Session-Id") == nil && sent[1].header("Mcp-Session-Id") == "sess-1")
        #expect(sent[2].header("MCP-Protocol-Version") == "2025-06-18")
    }

    /// A server matches answers to requests by id: concurrent requests in one session never share one.
    @Test func concurrentRequestsInASessionHaveIDsOfTheirOwn() async throws {
        let server = FakeServer(Self.standard)
        let client = StreamableHTTPClient(transport: server)
        let session = try await client.open(url: Self.url, token: "t")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await client.callTool(session, name: "add_note", arguments: .object([:]), token: "t") } }
            try await group.waitForAll()
        }
        let ids = server.sent.compactMap { JSONValue.parse($0.body ?? [])?.objectValue?["id"]?.numberValue }
        #expect(ids.count == 21 && Set(ids).count == 21)
    }

    @Test func toolsAreReadPageByPageWithHintsAsGivenAndBadNamesLeftOut() async throws {
        let client = StreamableHTTPClient(transport: FakeServer(Self.standard))
        let session = try await client.open(url: Self.url, token: "t")
        let tools = try await client.tools(session, filter: .all, token: "t")
        #expect(tools.map(\.name) == ["list_notes", "add_note", "delete_note"])
        // Only `readOnlyHint: true` is a read; a hint that is no boolean, or none, is a write.
        #expect(tools.map(\.readOnly) == [true, false, false])
        #expect(tools[1].input.objectValue?["properties"] != nil && tools[2].input == .object(["type": .string("object")]))
        let allowed = try await client.tools(session, filter: .deny(["delete_note"]), token: "t")
        #expect(allowed.map(\.name) == ["list_notes", "add_note"])
    }

    @Test(arguments: [
        (401, RemoteMCPFailure.unauthorized),
        (404, .sessionGone),
    ])
    func refusedTokensAndEndedSessionsAreToldApart(status: Int, failure: RemoteMCPFailure) async throws {
        let client = StreamableHTTPClient(transport: FakeServer { method, body in
            method == "tools/call" ? OutboundResponse(status: status) : Self.standard(method, body)
        })
        let session = try await client.open(url: Self.url, token: "t")
        await #expect(throws: failure) { _ = try await client.callTool(session, name: "x", arguments: .object([:]), token: "t") }
    }

    @Test func aServerErrorAJSONRPCErrorAndAMissingResponseAreLatchkeyErrors() async throws {
        let cases: [(OutboundResponse, LatchkeyError.Code, String)] = [
            (OutboundResponse(status: 503), .providerUnavailable, "HTTP 503"),
            (Self.sse(#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Unknown tool: x"}}"#), .providerError, "-32602: Unknown tool"),
            (Self.sse(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#), .invalidProviderResponse, "no response"),
            (OutboundResponse(status: 302, headers: [OutboundHeader(name: "Location", value: "https://evil.example/")]), .providerError, "HTTP 302"),
        ]
        for (answer, code, words) in cases {
            let client = StreamableHTTPClient(transport: FakeServer { method, body in method == "tools/call" ? answer : Self.standard(method, body) })
            let session = try await client.open(url: Self.url, token: "t")
            do {
                _ = try await client.callTool(session, name: "x", arguments: .object([:]), token: "t")
                Issue.record("\(words): no failure")
            } catch .failed(let error) {
                #expect(error.code == code && error.message.contains(words), "\(error.message)")
            } catch {
                Issue.record("\(words): \(error)")
            }
        }
    }

    /// Progress the server reports in the answer's stream reaches the caller in order, before the result; the
    /// request carried the caller's progress token, and nothing after the response is read.
    @Test func progressInTheAnswersStreamReachesTheCallerBeforeTheResult() async throws {
        let server = FakeServer { method, body in
            guard method == "tools/call" else { return Self.standard(method, body) }
            let id = body.objectValue?["id"]?.numberValue.map { String(Int($0)) } ?? "null"
            let token = body.objectValue?["params"]?.objectValue?["_meta"]?.objectValue?["progressToken"]?.stringValue ?? "none"
            return Self.sse(
                #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(token)","progress":1,"total":2,"message":"half"}}"#,
                #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(token)","progress":2,"total":2}}"#,
                #"{"jsonrpc":"2.0","id":\#(id),"result":{"content":[],"isError":false}}"#,
                #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(token)","progress":3}}"#)
        }
        let client = StreamableHTTPClient(transport: server)
        let session = try await client.open(url: Self.url, token: "t")
        let seen = Seen()
        let result = try await client.callTool(session, name: "export", arguments: .object([:]), token: "t", progressToken: "p-1") { message in
            seen.add(ToolProgress.reported(in: message))
        }
        #expect(result.objectValue?["isError"] == .bool(false))
        #expect(seen.all == [
            Seen.Step(token: .string("p-1"), progress: ToolProgress(progress: 1, total: 2, message: "half")),
            Seen.Step(token: .string("p-1"), progress: ToolProgress(progress: 2, total: 2)),
        ])
        // Without a token, none is sent.
        _ = try await client.callTool(session, name: "export", arguments: .object([:]), token: "t")
        #expect(JSONValue.parse(server.sent.last?.body ?? [])?.objectValue?["params"]?.objectValue?["_meta"] == nil)
    }

    final class Seen: @unchecked Sendable {
        struct Step: Equatable {
            var token: JSONValue
            var progress: ToolProgress
        }
        private let lock = NSLock()
        private var steps: [Step] = []
        func add(_ step: (token: JSONValue, progress: ToolProgress)?) {
            guard let step else { return }
            lock.withLock { steps.append(Step(token: step.token, progress: step.progress)) }
        }
        var all: [Step] { lock.withLock { steps } }
    }

    @Test func aServerSpeakingAnUnknownProtocolVersionIsRefused() async throws {
        let client = StreamableHTTPClient(transport: FakeServer { method, body in
            method == "initialize" ? Self.sse(#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2024-01-01"}}"#) : Self.standard(method, body)
        })
        do {
            _ = try await client.open(url: Self.url, token: "t")
            Issue.record("opened")
        } catch .failed(let error) {
            #expect(error.code == .invalidProviderResponse && error.field == "protocolVersion")
        } catch {
            Issue.record("\(error)")
        }
    }
}

extension OutboundRequest {
    fileprivate func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}
