import Foundation
import LatchkeyModel
import Logging
import MCP

/// The server half of MCP's Streamable HTTP for one session: what the SDK's `Server` sends, routed to the HTTP
/// answers that wait for it.
///
/// A request's answer goes on that request's own SSE stream, and so does the progress of the call it made (each
/// `notifications/progress` under a token the request carried in `_meta`), so a client that has the result has
/// had every step before it. Any other server message goes on the session's GET stream while one is open and is
/// dropped otherwise: nothing is kept for replay, so a long session's memory stays bounded.
///
/// (The SDK's `StatefulHTTPServerTransport` sends every notification on the GET stream, where the last step can lose
/// its race with the result, keeps every message it sent for the session's lifetime, and cannot start as an
/// already-initialized session on another replica; ``replayInitialize(_:)`` does that here.)
public actor MCPSessionTransport: Transport {
    public nonisolated let logger: Logger
    /// The session's id, sent back on every answer.
    public let sessionID: String
    let validation: any HTTPRequestValidationPipeline
    private var terminated = false
    private let incoming: AsyncThrowingStream<Data, any Error>
    private let incomingContinuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// The open answer of each request in flight, by its JSON-RPC id.
    private var answers: [JSONValue: AsyncThrowingStream<Data, any Error>.Continuation] = [:]
    /// The request that asked for progress under each token, by the token.
    private var progressRequests: [JSONValue: JSONValue] = [:]
    /// The session's GET stream, and a number telling it from the streams before it.
    private var listening: (number: Int, continuation: AsyncThrowingStream<Data, any Error>.Continuation)?
    private var streamsOpened = 0
    /// Answers the transport waits for itself (a replayed `initialize`), by request id.
    private var awaited: [JSONValue: CheckedContinuation<Void, Never>] = [:]

    public init(sessionID: String, validation: any HTTPRequestValidationPipeline, logger: Logger = Logger(label: "latchkey.mcp.session")) {
        self.sessionID = sessionID
        self.validation = validation
        self.logger = logger
        (incoming, incomingContinuation) = AsyncThrowingStream.makeStream()
    }

    // MARK: The SDK's side

    public func connect() async throws {}

    public func disconnect() async { terminate() }

    public func receive() -> AsyncThrowingStream<Data, any Error> { incoming }

    /// Routes a message the server sends: an answer to its request's stream (which it closes), a progress notification
    /// to the stream of the request that asked for it, anything else to the GET stream.
    public func send(_ data: Data) async throws {
        guard !terminated else { throw MCPError.connectionClosed }
        guard let message = JSONValue.parse(data)?.objectValue else { return }
        if message["method"] == nil, let id = message["id"] {
            if let waiter = awaited.removeValue(forKey: id) {
                waiter.resume()
                return
            }
            guard let answer = answers.removeValue(forKey: id) else { return }
            answer.yield(Self.event(data))
            answer.finish()
            progressRequests = progressRequests.filter { $0.value != id }
            return
        }
        if message["method"]?.stringValue == "notifications/progress",
            let token = message["params"]?.objectValue?["progressToken"],
            let request = progressRequests[token], let answer = answers[request]
        {
            answer.yield(Self.event(data))
            return
        }
        listening?.continuation.yield(Self.event(data))
    }

    // MARK: The client's side

    /// Answers one HTTP request of the session: POST carries a JSON-RPC message, GET opens the stream of server
    /// messages, DELETE ends the session.
    public func handle(_ request: MCP.HTTPRequest) -> MCP.HTTPResponse {
        guard !terminated else {
            return .error(statusCode: 404, .invalidRequest("Not Found: the session has ended"), sessionID: sessionID)
        }
        switch request.method.uppercased() {
        case "POST": return post(request)
        case "GET": return get(request)
        case "DELETE":
            if let refused = validation.validate(request, context: context("DELETE", initializing: false)) { return refused }
            terminate()
            return .ok(headers: [HTTPHeaderName.sessionID: sessionID])
        default:
            return .error(
                statusCode: 405, .invalidRequest("Method Not Allowed"), sessionID: sessionID,
                extraHeaders: [HTTPHeaderName.allow: "GET, POST, DELETE"])
        }
    }

    /// Starts the session as the client started it elsewhere (on another replica): the server is given the client's
    /// `initialize` parameters and `notifications/initialized`, and its answer is kept from every client.
    public func replayInitialize(_ parameters: JSONValue) async {
        let id = JSONValue.string("latchkey-replay-" + RandomToken.base64URL(bytes: 9))
        let request = JSONValue.object(["jsonrpc": .string("2.0"), "id": id, "method": .string("initialize"), "params": parameters])
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            awaited[id] = waiter
            incomingContinuation.yield(Data(request.serialized()))
        }
        let initialized = JSONValue.object(["jsonrpc": .string("2.0"), "method": .string("notifications/initialized")])
        incomingContinuation.yield(Data(initialized.serialized()))
    }

    private func post(_ request: MCP.HTTPRequest) -> MCP.HTTPResponse {
        guard let body = request.body, !body.isEmpty else {
            return .error(statusCode: 400, .parseError("Empty request body"), sessionID: sessionID)
        }
        guard let message = JSONValue.parse(body)?.objectValue, let kind = Kind(message) else {
            return .error(statusCode: 400, .parseError("Invalid JSON-RPC message: send one JSON-RPC object"), sessionID: sessionID)
        }
        if let refused = validation.validate(request, context: context("POST", initializing: kind.isInitialize)) { return refused }
        guard let id = kind.requestID else {
            incomingContinuation.yield(body)
            return .accepted(headers: [HTTPHeaderName.sessionID: sessionID])
        }
        guard answers[id] == nil, awaited[id] == nil else {
            return .error(statusCode: 400, .invalidRequest("Bad Request: a request with this id is still open in this session"), sessionID: sessionID)
        }
        let (stream, answer) = AsyncThrowingStream<Data, any Error>.makeStream()
        answers[id] = answer
        if let token = message["params"]?.objectValue?["_meta"]?.objectValue?["progressToken"] {
            progressRequests[token] = id
        }
        incomingContinuation.yield(body)
        return .stream(stream, headers: streamHeaders)
    }

    private func get(_ request: MCP.HTTPRequest) -> MCP.HTTPResponse {
        if let refused = validation.validate(request, context: context("GET", initializing: false)) { return refused }
        guard listening == nil else {
            return .error(statusCode: 409, .invalidRequest("Conflict: Only one SSE stream is allowed per session"), sessionID: sessionID)
        }
        let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        streamsOpened += 1
        let number = streamsOpened
        listening = (number, continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.stoppedListening(number) }
        }
        return .stream(stream, headers: streamHeaders)
    }

    /// A GET stream the client closed frees the place for its next one.
    private func stoppedListening(_ number: Int) {
        if listening?.number == number { listening = nil }
    }

    private func terminate() {
        guard !terminated else { return }
        terminated = true
        for answer in answers.values { answer.finish() }
        answers.removeAll()
        progressRequests.removeAll()
        listening?.continuation.finish()
        listening = nil
        for waiter in awaited.values { waiter.resume() }
        awaited.removeAll()
        incomingContinuation.finish()
    }

    private func context(_ method: String, initializing: Bool) -> HTTPValidationContext {
        HTTPValidationContext(
            httpMethod: method, sessionID: initializing ? nil : sessionID, isInitializationRequest: initializing,
            supportedProtocolVersions: Version.supported)
    }

    private var streamHeaders: [String: String] {
        [
            HTTPHeaderName.sessionID: sessionID, HTTPHeaderName.contentType: "text/event-stream",
            HTTPHeaderName.cacheControl: "no-cache, no-transform",
            // nginx passes the stream on as it comes, whatever its `proxy_buffering`.
            "X-Accel-Buffering": "no",
        ]
    }

    /// One SSE `message` event carrying `data` (a line of its own per line of JSON).
    static func event(_ data: Data) -> Data {
        var event = Data("event: message\n".utf8)
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            event.append(contentsOf: Array("data: ".utf8))
            event.append(contentsOf: line)
            event.append(UInt8(ascii: "\n"))
        }
        event.append(UInt8(ascii: "\n"))
        return event
    }

    /// What a JSON-RPC message the client sent is.
    enum Kind {
        case request(id: JSONValue)
        case initialize(id: JSONValue)
        case notification
        case response

        init?(_ message: [String: JSONValue]) {
            let id = message["id"].flatMap { $0 == .null ? nil : $0 }
            if let method = message["method"]?.stringValue {
                guard let id else {
                    self = .notification
                    return
                }
                self = method == "initialize" ? .initialize(id: id) : .request(id: id)
            } else if id != nil, message["result"] != nil || message["error"] != nil {
                self = .response
            } else {
                return nil
            }
        }

        var isInitialize: Bool { if case .initialize = self { true } else { false } }

        /// The id of a request (`initialize` included), to answer it under.
        var requestID: JSONValue? {
            switch self {
            case .request(let id), .initialize(let id): id
            case .notification, .response: nil
            }
        }
    }
}
