import Foundation
import LatchkeyHTTP
import Synchronization

/// A transport that answers from a script by URL (a unit test double): each URL's answer, or a failure; anything
/// not scripted answers 404. It records every request it saw.
final class ScriptedTransport: HTTPTransport {
    enum Answer: Sendable {
        case json(String, status: Int = 200, headers: [OutboundHeader] = [])
        case status(Int, headers: [OutboundHeader] = [])
        case failure(OutboundError.Code)
    }

    private let state: Mutex<(script: [String: Answer], seen: [OutboundRequest])>

    init(_ script: [String: Answer]) { state = Mutex((script, [])) }

    var seen: [String] { state.withLock { $0.seen.map { "\($0.method) \($0.url)" } } }

    /// Every request sent to `url`, in order.
    func requests(to url: String) -> [OutboundRequest] { state.withLock { $0.seen.filter { $0.url == url } } }

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let answer = state.withLock { state -> Answer? in
            state.seen.append(request)
            return state.script[request.url]
        }
        switch answer {
        case .json(let body, let status, let headers)?:
            return OutboundResponse(status: status, headers: headers + [OutboundHeader(name: "Content-Type", value: "application/json")], body: Array(body.utf8))
        case .status(let status, let headers)?:
            return OutboundResponse(status: status, headers: headers)
        case .failure(let code)?:
            throw OutboundError(code: code, message: "scripted \(code.rawValue)")
        case nil:
            return OutboundResponse(status: 404)
        }
    }
}
