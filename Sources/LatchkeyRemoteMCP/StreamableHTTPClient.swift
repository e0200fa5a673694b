import Foundation
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyOAuth
import Synchronization

/// A session Latchkey holds with a remote MCP server: the `Mcp-Session-Id` it was given (none for a stateless
/// server) and the protocol version agreed at `initialize`.
public struct RemoteMCPSession: Sendable, Equatable {
    public var url: String
    public var sessionID: String?
    public var protocolVersion: String

    public init(url: String, sessionID: String?, protocolVersion: String) {
        self.url = url
        self.sessionID = sessionID
        self.protocolVersion = protocolVersion
    }
}

/// Why a request to a remote MCP server did not give a result.
public enum RemoteMCPFailure: Error, Sendable, Equatable {
    /// 401: the token was refused (expired or revoked); refresh once and try again.
    case unauthorized
    /// 404 on a request that carried a session id: the server ended the session; open a new one.
    case sessionGone
    /// Anything else, as Latchkey's error (a JSON-RPC error of the server's is `provider_error` with its code).
    case failed(LatchkeyError)
}

/// The client half of MCP's Streamable HTTP transport, on Latchkey's outbound `HTTPTransport` (its URL rules, caps and
/// timeouts, no redirects), with the bearer token passed in for each request and sent to the server's URL only.
///
/// Each JSON-RPC request is one POST; the answer is either one JSON object or an SSE stream whose events carry the
/// server's messages, the response among them. Notifications the server sends in the stream before its response
/// are passed to `onMessage`.
public struct StreamableHTTPClient: Sendable {
    let transport: any HTTPTransport
    /// JSON-RPC request ids, unique within every session this client holds: a server matches answers to requests by
    /// id, and two concurrent requests with one id in a session leave one of them unanswered.
    private let requestIDs = RequestIDs()
    /// The largest answer read (a tool's result included).
    public var maxResponseBytes = 8 * 1024 * 1024
    public var connectTimeout: Duration = .seconds(5)
    public var totalTimeout: Duration = .seconds(60)
    /// The addresses a server's URL may resolve to: public ones (and loopback), unless an admin allowed a network.
    public var addressPolicy = OutboundAddressPolicy.publicOnly(allowing: [])

    /// The protocol version Latchkey asks for.
    public static let protocolVersion = "2025-11-25"
    /// The versions Latchkey speaks, should the server answer with an older one.
    public static let supportedVersions: Set<String> = ["2025-11-25", "2025-06-18", "2025-03-26"]

    public init(transport: any HTTPTransport) {
        self.transport = transport
    }

    /// Opens a session: `initialize`, then `notifications/initialized`.
    public func open(url: String, token: String) async throws(RemoteMCPFailure) -> RemoteMCPSession {
        let params: JSONValue = .object([
            "protocolVersion": .string(Self.protocolVersion), "capabilities": .object([:]),
            "clientInfo": .object(["name": .string("latchkey"), "version": .string("1")]),
        ])
        let opening = RemoteMCPSession(url: url, sessionID: nil, protocolVersion: Self.protocolVersion)
        let (result, headers) = try await exchange(opening, method: "initialize", params: params, token: token)
        let version = result.objectValue?["protocolVersion"]?.stringValue ?? ""
        guard Self.supportedVersions.contains(version) else {
            throw .failed(LatchkeyError(
                .invalidProviderResponse, "initialize at \(url.prefix(200)): protocolVersion '\(version.prefix(40))' is not one Latchkey speaks",
                field: "protocolVersion"))
        }
        let session = RemoteMCPSession(
            url: url, sessionID: headers.first { $0.name.lowercased() == "mcp-session-id" }?.value, protocolVersion: version)
        try await notify(session, method: "notifications/initialized", token: token)
        return session
    }

    /// Sends `method` with `params` in `session` (under a request id of its own) and returns the result. Messages the
    /// server sends in the answer's stream before the result (progress, logging) are handed to `onMessage` as they
    /// arrive.
    public func request(
        _ session: RemoteMCPSession, method: String, params: JSONValue, token: String,
        onMessage: (@Sendable (JSONValue) async -> Void)? = nil
    ) async throws(RemoteMCPFailure) -> JSONValue {
        try await exchange(session, method: method, params: params, token: token, onMessage: onMessage).result
    }

    /// Sends a notification; the server answers 202 with no body.
    public func notify(_ session: RemoteMCPSession, method: String, token: String) async throws(RemoteMCPFailure) {
        let body = JSONValue.object(["jsonrpc": .string("2.0"), "method": .string(method)])
        let response = try await open(session, method: "POST", body: body, token: token)
        response.body.cancel()
        guard (200..<300).contains(response.status) else { throw failure(response.status, session: session, method: method) }
    }

    private func exchange(
        _ session: RemoteMCPSession, method: String, params: JSONValue, token: String,
        onMessage: (@Sendable (JSONValue) async -> Void)? = nil
    ) async throws(RemoteMCPFailure) -> (result: JSONValue, headers: [OutboundHeader]) {
        let id = requestIDs.next()
        let body = JSONValue.object(["jsonrpc": .string("2.0"), "id": .number(Double(id)), "method": .string(method), "params": params])
        let response = try await open(session, method: "POST", body: body, token: token)
        guard response.status == 200 else {
            response.body.cancel()
            throw failure(response.status, session: session, method: method)
        }
        let place = "\(method) at \(session.url.prefix(200))"
        let answer: [String: JSONValue]?
        do {
            if response.header("Content-Type")?.lowercased().hasPrefix("text/event-stream") == true {
                answer = try await Self.answer(to: id, in: response.body, onMessage: onMessage)
            } else {
                answer = JSONValue.parse(try await response.collected(upTo: maxResponseBytes).body)?.objectValue
                    .flatMap { $0["id"]?.numberValue == Double(id) ? $0 : nil }
            }
        } catch let error as OutboundError {
            throw .failed(LatchkeyError(outbound: error, step: "the MCP server at \(session.url.prefix(200))", limit: maxResponseBytes))
        } catch {
            throw .failed(LatchkeyError(.providerUnavailable, "\(place): the answer broke off"))
        }
        guard let answer else {
            throw .failed(LatchkeyError(.invalidProviderResponse, "\(place): the server sent no response to the request"))
        }
        if let error = answer["error"]?.objectValue {
            let code = error["code"]?.numberValue.map { String(Int($0)) } ?? "?"
            let message = error["message"]?.stringValue.map { String($0.prefix(200)) } ?? ""
            throw .failed(LatchkeyError(.providerError, "\(place): the server answered JSON-RPC error \(code): \(message)"))
        }
        guard let result = answer["result"] else {
            throw .failed(LatchkeyError(.invalidProviderResponse, "\(place): the response has neither result nor error", field: "result"))
        }
        return (result, response.headers)
    }

    /// Reads an SSE answer until the response to request `id` arrives (the rest of the stream is then dropped),
    /// handing the server's other messages to `onMessage` on the way.
    static func answer(
        to id: Int, in body: OutboundBodyStream, onMessage: (@Sendable (JSONValue) async -> Void)?
    ) async throws -> [String: JSONValue]? {
        var decoder = SSEDecoder()
        func take(_ messages: [JSONValue]) async -> [String: JSONValue]? {
            for message in messages {
                guard let object = message.objectValue else { continue }
                if object["method"] == nil, object["id"]?.numberValue == Double(id) { return object }
                if object["method"] != nil { await onMessage?(message) }
            }
            return nil
        }
        for try await chunk in body {
            if let answer = await take(decoder.feed(chunk)) {
                body.cancel()
                return answer
            }
        }
        return await take(decoder.finish())
    }

    /// Starts an exchange with the server's URL: the token in `Authorization`, the session's headers, no redirects,
    /// the body read as it arrives.
    private func open(
        _ session: RemoteMCPSession, method: String, body: JSONValue? = nil, token: String, lasting: Duration? = nil
    ) async throws(RemoteMCPFailure) -> OutboundStreamingResponse {
        var headers = [
            OutboundHeader(name: "Accept", value: body == nil ? "text/event-stream" : "application/json, text/event-stream"),
            OutboundHeader(name: "MCP-Protocol-Version", value: session.protocolVersion),
            OutboundHeader(name: "Authorization", value: "Bearer " + token),
        ]
        if body != nil { headers.append(OutboundHeader(name: "Content-Type", value: "application/json")) }
        if let id = session.sessionID { headers.append(OutboundHeader(name: "Mcp-Session-Id", value: id)) }
        let request = OutboundRequest(
            method: method, url: session.url, headers: headers, body: body?.serialized(), connectTimeout: connectTimeout,
            totalTimeout: lasting ?? totalTimeout, maxResponseBytes: maxResponseBytes, followRedirects: false, addressPolicy: addressPolicy)
        do {
            return try await transport.stream(request, upload: nil)
        } catch let error as OutboundError {
            throw .failed(LatchkeyError(outbound: error, step: "the MCP server at \(session.url.prefix(200))", limit: maxResponseBytes))
        } catch {
            throw .failed(LatchkeyError(.providerUnavailable, "the MCP server at \(session.url.prefix(200)) could not be reached"))
        }
    }

    private func failure(_ status: Int, session: RemoteMCPSession, method: String) -> RemoteMCPFailure {
        switch status {
        case 401: return .unauthorized
        case 404 where session.sessionID != nil: return .sessionGone
        case 500..<600, 429:
            return .failed(LatchkeyError(.providerUnavailable, "\(method) at \(session.url.prefix(200)): the server answered HTTP \(status)"))
        default:
            return .failed(LatchkeyError(.providerError, "\(method) at \(session.url.prefix(200)): the server answered HTTP \(status)"))
        }
    }

    /// Listens on the session's own stream from the server (a GET), handing each message the server sends to
    /// `onMessage`, until the server ends the stream, `lasting` has passed, or the task is cancelled. Returns false
    /// when the server offers no such stream (405).
    public func listen(_ session: RemoteMCPSession, token: String, lasting: Duration, onMessage: @Sendable (JSONValue) async -> Void)
        async throws(RemoteMCPFailure) -> Bool
    {
        let response = try await open(session, method: "GET", token: token, lasting: lasting)
        if response.status == 405 { return false }
        guard response.status == 200 else {
            response.body.cancel()
            throw failure(response.status, session: session, method: "GET")
        }
        var decoder = SSEDecoder()
        do {
            for try await chunk in response.body {
                for message in decoder.feed(chunk) { await onMessage(message) }
            }
            for message in decoder.finish() { await onMessage(message) }
        } catch {
            // A timeout or a dropped transfer ends this listen; the caller listens again.
        }
        return true
    }
}

/// A counter of request ids shared by every copy of a client.
final class RequestIDs: Sendable {
    private let last = Atomic<Int>(0)

    func next() -> Int { last.wrappingAdd(1, ordering: .relaxed).newValue }
}
