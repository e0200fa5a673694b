import Foundation
import LatchkeyHTTP
import Synchronization

/// A provider in memory, for the services' unit tests: its token endpoint answers refreshes as the test scripts them
/// and records the refresh token each call sent; its API answers as scripted and records each request. Token calls
/// can be held until the test lets them go. It also redeems the authorization codes it issued (checking PKCE), names
/// the account behind its access tokens, and records revocations (`FakeProvider+AuthorizationCode.swift`).
public final class FakeProvider: HTTPTransport {
    /// One answer of the token endpoint.
    public enum TokenAnswer: Sendable {
        /// 200 with a new access token; `refresh` nil sends none.
        case token(access: String, refresh: String?, expiresIn: Int)
        /// An RFC 6749 §5.2 error answer.
        case error(status: Int, code: String)
    }

    /// One answer of the API: a status and a JSON body; `failToConnect` answers nothing (the host is unreachable).
    public struct APIAnswer: Sendable {
        public var status: Int
        public var body: String
        public var failToConnect = false
        public init(_ status: Int, _ body: String = "{}") {
            self.status = status
            self.body = body
        }
        public static var unreachable: APIAnswer {
            var answer = APIAnswer(0)
            answer.failToConnect = true
            return answer
        }
    }

    /// A request the API received: its method, URL and the credential it carried.
    public struct APIRequest: Sendable, Equatable {
        public var method: String
        public var url: String
        public var authorization: String?
        /// Every header sent, in order.
        public var headers: [OutboundHeader] = []
    }

    struct State {
        var sent: [String] = []
        var tokenScript: [TokenAnswer]
        var apiScript: [APIAnswer]
        var apiRequests: [APIRequest] = []
        var held = false
        var heldCalls: [CheckedContinuation<Void, Never>] = []
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var codes: [String: IssuedCode] = [:]
        var exchanges: [CodeExchange] = []
        var accounts: [String: Account] = [:]
        var revoked: [String] = []
    }

    let state: Mutex<State>

    /// The token endpoint answers in `tokens`' order, the API in `api`'s; the last answer of each repeats.
    public init(tokens: [TokenAnswer], api: [APIAnswer] = [APIAnswer(200)]) {
        state = Mutex(State(tokenScript: tokens, apiScript: api))
    }

    /// The refresh tokens sent to the token endpoint, one per call, in order.
    public var sentRefreshTokens: [String] { state.withLock { $0.sent } }

    /// The requests the API received, in order.
    public var apiRequests: [APIRequest] { state.withLock { $0.apiRequests } }

    /// Holds every token call that arrives from now on, after recording it, until ``release()``.
    public func hold() { state.withLock { $0.held = true } }

    /// Lets every held token call (and every later one) go.
    public func release() {
        let held = state.withLock { state in
            state.held = false
            defer { state.heldCalls = [] }
            return state.heldCalls
        }
        for call in held { call.resume() }
    }

    /// Returns once at least `count` token calls have arrived.
    public func calls(atLeast count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.sent.count >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        if request.url.hasSuffix("/userinfo") { return answerIdentity(request) }
        if request.url.hasSuffix("/revoke") { return recordRevocation(request) }
        guard request.url.hasSuffix("/token") else { return try answerAPI(request) }
        let form = Self.form(request.body ?? [])
        if form["grant_type"] == "authorization_code" { return redeem(form) }
        let (answer, held, woken) = state.withLock { state in
            state.sent.append(form["refresh_token"] ?? "")
            let answer = state.tokenScript[min(state.sent.count, state.tokenScript.count) - 1]
            let woken = state.watchers.filter { $0.count <= state.sent.count }.map(\.continuation)
            state.watchers.removeAll { $0.count <= state.sent.count }
            return (answer, state.held, woken)
        }
        for watcher in woken { watcher.resume() }
        if held {
            await withCheckedContinuation { continuation in
                let stillHeld = state.withLock { state in
                    if state.held { state.heldCalls.append(continuation) }
                    return state.held
                }
                if !stillHeld { continuation.resume() }
            }
        }
        switch answer {
        case .token(let access, let refresh, let expiresIn):
            var body = #"{"access_token":"\#(access)","token_type":"Bearer","expires_in":\#(expiresIn)"#
            if let refresh { body += #","refresh_token":"\#(refresh)""# }
            return Self.json(200, body + "}")
        case .error(let status, let code):
            return Self.json(status, #"{"error":"\#(code)"}"#)
        }
    }

    private func answerAPI(_ request: OutboundRequest) throws -> OutboundResponse {
        let answer = state.withLock { state in
            state.apiRequests.append(APIRequest(
                method: request.method, url: request.url,
                authorization: request.headers.first { $0.name.lowercased() == "authorization" }?.value, headers: request.headers))
            return state.apiScript[min(state.apiRequests.count, state.apiScript.count) - 1]
        }
        if answer.failToConnect { throw OutboundError(code: .connectFailed, message: "connection refused") }
        return Self.json(answer.status, answer.body)
    }

    static func json(_ status: Int, _ body: String) -> OutboundResponse {
        OutboundResponse(status: status, headers: [OutboundHeader(name: "Content-Type", value: "application/json")], body: Array(body.utf8))
    }

    static func form(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }
}
