import Foundation
import LatchkeyHTTP
import LatchkeyModel

/// A call held until a person approves it: everything needed to make it later, exactly as the agent asked, and
/// nothing of the credential (that is injected when it runs). Stored sealed.
public enum PendingCall: Sendable, Hashable, Codable {
    /// A proxied call: the method, the path as the proxy's guard accepted it, the query, the forwardable headers and
    /// the body.
    case proxy(method: String, path: String, query: String?, headers: [Header], body: Data?)
    /// A tool call: `provider.tool` and its arguments.
    case tool(name: String, arguments: JSONValue)

    /// One forwarded header.
    public struct Header: Sendable, Hashable, Codable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `call`, to be held: fails with 413 for a streamed body, which is never held in memory.
    public init(_ call: ProxyService.Call) throws(LatchkeyError) {
        let body: Data?
        switch call.body {
        case .none: body = nil
        case .bytes(let bytes): body = Data(bytes)
        case .streamed:
            throw LatchkeyError(
                .payloadTooLarge, "body: a call that waits for approval is held whole, and this body is too large (or chunked) to hold",
                field: "body")
        }
        self = .proxy(
            method: call.method, path: call.path, query: call.query, headers: call.headers.map { Header(name: $0.name, value: $0.value) },
            body: body)
    }
}

/// Files calls that wait for a person's approval. The proxy and the tool runner use it; the approval desk decides and
/// runs what it filed.
public protocol ApprovalFiling: Sendable {
    /// Holds `call`, which `caller` made on `connection`, until a person decides; `summary` names it without its
    /// arguments or body. Returns where the approval can be followed.
    func file(_ call: PendingCall, summary: String, connection: Connection, caller: Caller) async throws -> ApprovalTicket
}

extension LatchkeyError {
    /// The answer to a call that now waits for `ticket`'s approval.
    public static func approvalRequired(_ summary: String, _ ticket: ApprovalTicket) -> LatchkeyError {
        var error = LatchkeyError(
            .approvalRequired,
            "\(summary) waits for a person's approval (\(ticket.id)); ask them to decide at the url, then fetch GET /v1/approvals/\(ticket.id)")
        error.approval = ticket
        return error
    }
}
