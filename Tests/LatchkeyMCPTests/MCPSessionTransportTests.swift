import Foundation
import LatchkeyMCP
import LatchkeyModel
import MCP
import Testing

/// The server half of Streamable HTTP for one session: where each message the server sends goes.
@Suite("MCP session transport")
struct MCPSessionTransportTests {
    let transport = MCPSessionTransport(sessionID: "s-1", validation: StandardValidationPipeline(validators: [SessionValidator()]))

    func post(_ json: String, session: Bool = true) async -> MCP.HTTPResponse {
        await transport.handle(
            MCP.HTTPRequest(method: "POST", headers: session ? [HTTPHeaderName.sessionID: "s-1"] : [:], body: Data(json.utf8)))
    }

    /// Everything a streamed answer carried, once it ended.
    func everything(in response: MCP.HTTPResponse) async throws -> String {
        guard case .stream(let stream, let headers) = response else {
            Issue.record("not a stream: \(response.statusCode)")
            return ""
        }
        #expect(headers[HTTPHeaderName.sessionID] == "s-1" && headers[HTTPHeaderName.contentType] == "text/event-stream")
        var text = ""
        for try await chunk in stream { text += String(decoding: chunk, as: UTF8.self) }
        return text
    }

    func event(_ json: String) -> String { "event: message\ndata: \(json)\n\n" }

    @Test func aCallsProgressGoesOnItsOwnAnswerBeforeItsResult() async throws {
        let call = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p-7"}}}"#
        let other = #"{"jsonrpc":"2.0","id":"7","method":"tools/call","params":{"name":"y","_meta":{"progressToken":"p-8"}}}"#
        let answer = await post(call)
        let otherAnswer = await post(other)
        var received = await transport.receive().makeAsyncIterator()
        #expect(try await received.next().map { String(decoding: $0, as: UTF8.self) } == call)
        #expect(try await received.next().map { String(decoding: $0, as: UTF8.self) } == other)

        let step1 = #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-7","progress":1,"total":2}}"#
        let foreign = #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-8","progress":1}}"#
        let step2 = #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-7","progress":2,"total":2}}"#
        let result = #"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#
        let otherResult = #"{"jsonrpc":"2.0","id":"7","result":{"content":[],"isError":true}}"#
        for message in [step1, foreign, step2, result, otherResult] { try await transport.send(Data(message.utf8)) }
        // The number 7 and the string "7" are two requests; each answer has its own steps, in order, then its result.
        #expect(try await everything(in: answer) == event(step1) + event(step2) + event(result))
        #expect(try await everything(in: otherAnswer) == event(foreign) + event(otherResult))
    }

    @Test func otherServerMessagesGoOnTheSessionsStreamWhileOneIsOpen() async throws {
        let listChanged = #"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#
        // Nothing is kept for a stream that is not open yet.
        try await transport.send(Data(listChanged.utf8))
        let listening = await transport.handle(MCP.HTTPRequest(method: "GET", headers: [HTTPHeaderName.sessionID: "s-1"]))
        #expect(await transport.handle(MCP.HTTPRequest(method: "GET", headers: [HTTPHeaderName.sessionID: "s-1"])).statusCode == 409)
        // Progress of a call that asked for none, or that already has its answer, goes there too.
        let late = #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"gone","progress":1}}"#
        try await transport.send(Data(listChanged.utf8))
        try await transport.send(Data(late.utf8))
        await transport.disconnect()
        #expect(try await everything(in: listening) == event(listChanged) + event(late))
    }

    @Test func aReplayedInitializeIsAnsweredToNoClient() async throws {
        let parameters = JSONValue.object(["protocolVersion": .string("2025-06-18"), "capabilities": .object([:])])
        let server = Task {
            var received = await transport.receive().makeAsyncIterator()
            let initialize = try #require(try await received.next().flatMap { JSONValue.parse($0)?.objectValue })
            #expect(initialize["method"] == .string("initialize") && initialize["params"] == parameters)
            let id = try #require(initialize["id"])
            let answer = JSONValue.object(["jsonrpc": .string("2.0"), "id": id, "result": .object([:])])
            try await transport.send(Data(answer.serialized()))
            let initialized = try #require(try await received.next().flatMap { JSONValue.parse($0)?.objectValue })
            #expect(initialized["method"] == .string("notifications/initialized") && initialized["id"] == nil)
        }
        await transport.replayInitialize(parameters)
        try await server.value
    }

    @Test func aRequestIdStillInFlightIsRefused() async throws {
        let call = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        _ = await post(call)
        let again = await post(call)
        #expect(again.statusCode == 400 && again.headers[HTTPHeaderName.sessionID] == "s-1")
        // Once answered, the id may be used again.
        try await transport.send(Data(#"{"jsonrpc":"2.0","id":1,"result":{}}"#.utf8))
        #expect(await post(call).statusCode == 200)
    }

    @Test(arguments: ["", "not json", "[]", #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, #"{"jsonrpc":"2.0","id":1}"#, "42"])
    func aBodyThatIsNoJSONRPCMessageIsRefused(_ body: String) async throws {
        let answer = await post(body)
        #expect(answer.statusCode == 400)
        let error = try #require(answer.bodyData.flatMap { JSONValue.parse($0)?.objectValue?["error"]?.objectValue })
        #expect(error["code"] == .number(-32700))
    }

    @Test func notificationsAndAnswersFromTheClientAreAccepted() async throws {
        #expect(await post(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#).statusCode == 202)
        #expect(await post(#"{"jsonrpc":"2.0","id":"s1","result":{}}"#).statusCode == 202)
    }

    @Test func aRequestWithoutTheSessionIsRefusedAndDeleteEndsItsStreams() async throws {
        #expect(await post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, session: false).statusCode == 400)
        let answer = await post(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        let deleted = await transport.handle(MCP.HTTPRequest(method: "DELETE", headers: [HTTPHeaderName.sessionID: "s-1"]))
        #expect(deleted.statusCode == 200)
        #expect(try await everything(in: answer) == "")
        #expect(await post(#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#).statusCode == 404)
        await #expect(throws: MCPError.self) { try await transport.send(Data(#"{"jsonrpc":"2.0","id":2,"result":{}}"#.utf8)) }
    }
}
