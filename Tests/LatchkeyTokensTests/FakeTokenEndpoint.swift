import Foundation
import LatchkeyHTTP
import Synchronization

/// A provider's token endpoint in memory, for the broker's tests: answers each refresh as the test scripts it,
/// records the refresh token each call sent, and can hold calls until the test lets them go.
final class FakeTokenEndpoint: HTTPTransport {
    /// One answer of the endpoint.
    enum Answer: Sendable {
        /// 200 with a new access token; `refreshToken` nil sends none.
        case token(access: String, refresh: String?, expiresIn: Int)
        /// An RFC 6749 §5.2 error answer.
        case error(status: Int, code: String)
    }

    private struct State {
        var sent: [String] = []
        var script: [Answer] = []
        var held = false
        var heldCalls: [CheckedContinuation<Void, Never>] = []
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    /// Answers calls in order; the last answer repeats.
    init(_ script: [Answer]) { state.withLock { $0.script = script } }

    /// The refresh tokens sent, one per call, in order.
    var sentRefreshTokens: [String] { state.withLock { $0.sent } }

    /// Holds every call that arrives from now on, after recording it, until ``release()``.
    func hold() { state.withLock { $0.held = true } }

    /// Lets every held call (and every later one) go.
    func release() {
        let held = state.withLock { state in
            state.held = false
            defer { state.heldCalls = [] }
            return state.heldCalls
        }
        for call in held { call.resume() }
    }

    /// Returns once at least `count` calls have arrived.
    func calls(atLeast count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.sent.count >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let form = Self.form(request.body ?? [])
        let (answer, held, woken) = state.withLock { state in
            state.sent.append(form["refresh_token"] ?? "")
            let answer = state.script[min(state.sent.count, state.script.count) - 1]
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
