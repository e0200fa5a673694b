import LatchkeyManifest
import LatchkeyModel

/// A tool of a remote MCP server, as its `tools/list` describes it.
public struct RemoteTool: Sendable, Equatable {
    /// The server's own name for it.
    public var name: String
    public var description: String
    /// Its `inputSchema`.
    public var input: JSONValue
    /// Whether its annotations say `readOnlyHint: true`. Anything else (no hint, false, not a boolean) is a write:
    /// a hint a server omits must not widen what a read grant allows.
    public var readOnly: Bool

    public init(name: String, description: String, input: JSONValue, readOnly: Bool) {
        self.name = name
        self.description = description
        self.input = input
        self.readOnly = readOnly
    }

    /// The tools of one `tools/list` result that `filter` admits, and the cursor of the next page. A tool whose
    /// name is missing or not a usable tool name is left out rather than failing the whole list.
    static func page(_ result: JSONValue, filter: ToolFilter) -> (tools: [RemoteTool], next: String?) {
        let object = result.objectValue ?? [:]
        let tools = (object["tools"]?.arrayValue ?? []).compactMap { entry -> RemoteTool? in
            guard let tool = entry.objectValue, let name = tool["name"]?.stringValue, RemoteMCPSpec.isValidToolName(name), filter.admits(name)
            else { return nil }
            let hints = tool["annotations"]?.objectValue
            return RemoteTool(
                name: name, description: tool["description"]?.stringValue ?? tool["title"]?.stringValue ?? "",
                input: tool["inputSchema"] ?? .object(["type": .string("object")]), readOnly: hints?["readOnlyHint"] == .bool(true))
        }
        return (tools, object["nextCursor"]?.stringValue)
    }

}
