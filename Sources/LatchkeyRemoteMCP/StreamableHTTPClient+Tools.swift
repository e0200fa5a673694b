import LatchkeyManifest
import LatchkeyModel

extension StreamableHTTPClient {
    /// The most `tools/list` pages read from one server.
    static let maxToolPages = 20

    /// Every tool of the server that `filter` admits, page by page.
    public func tools(_ session: RemoteMCPSession, filter: ToolFilter, token: String) async throws(RemoteMCPFailure) -> [RemoteTool] {
        var tools: [RemoteTool] = []
        var cursor: String?
        for _ in 1...Self.maxToolPages {
            let params: JSONValue = cursor.map { .object(["cursor": .string($0)]) } ?? .object([:])
            let (found, next) = RemoteTool.page(try await request(session, method: "tools/list", params: params, token: token), filter: filter)
            tools += found
            guard let next, !next.isEmpty else { break }
            cursor = next
        }
        return tools
    }

    /// Calls the server's tool `name` with `arguments`; the result as the server sent it (`content`, `isError`,
    /// `structuredContent`). With a `progressToken`, the server is asked for progress, and its messages before the
    /// result (progress among them) go to `onMessage`.
    public func callTool(
        _ session: RemoteMCPSession, name: String, arguments: JSONValue, token: String, progressToken: String? = nil,
        onMessage: (@Sendable (JSONValue) async -> Void)? = nil
    ) async throws(RemoteMCPFailure) -> JSONValue {
        var params: [String: JSONValue] = ["name": .string(name), "arguments": arguments]
        if let progressToken { params["_meta"] = .object(["progressToken": .string(progressToken)]) }
        return try await request(session, method: "tools/call", params: .object(params), token: token, onMessage: onMessage)
    }
}
