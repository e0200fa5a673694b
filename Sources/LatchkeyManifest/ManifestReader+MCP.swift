import LatchkeyModel

/// The `mcp:` section of a `kind: mcp` manifest: the server's URL, the scopes asked for and the tool filter.
extension ManifestReader {
    /// Sections a remote MCP server's manifest may not have: discovery and the server itself define them.
    static let sectionsFoundByDiscovery = ["auth", "connection_config", "proxy", "tools"]

    func readRemoteMCP() -> RemoteMCPSpec? {
        for key in Self.sectionsFoundByDiscovery {
            root.child(key)?.report("a kind: mcp manifest has no \(key) section: the server's metadata and tools/list define it")
        }
        guard let mcp = root.child("mcp") else {
            root.sink.report(line: root.line, field: "mcp", "required field is missing (kind: mcp needs mcp: {url: ...})")
            return nil
        }
        guard mcp.entries() != nil else { return nil }
        mcp.rejectUnknownKeys(["url", "scopes", "tools"])
        let url = mcp.requiredString("url")
        if let url, let problem = RemoteMCPSpec.problem(url: url) { mcp.child("url")?.report(problem) }
        let scopes = mcp.child("scopes")?.stringList() ?? []
        for (index, scope) in scopes.enumerated() where !RemoteMCPSpec.isValidScope(scope) {
            mcp.child("scopes")?.report("scope \(index + 1) '\(scope.prefix(64))' is not a valid OAuth scope token")
        }
        let tools = readToolFilter(mcp.child("tools"))
        guard let url, RemoteMCPSpec.problem(url: url) == nil, let tools else { return nil }
        return RemoteMCPSpec(url: url, scopes: scopes, tools: tools)
    }

    /// `tools: {allow: [...]}` or `tools: {deny: [...]}`, never both.
    func readToolFilter(_ c: YAMLCursor?) -> ToolFilter? {
        guard let c else { return .all }
        guard c.entries() != nil else { return nil }
        c.rejectUnknownKeys(["allow", "deny"])
        let allow = c.child("allow")?.stringList()
        let deny = c.child("deny")?.stringList()
        switch (allow, deny) {
        case (let allow?, nil): return .allow(allow)
        case (nil, let deny?): return .deny(deny)
        case (nil, nil):
            c.report("expected allow: [tool, ...] or deny: [tool, ...]")
            return nil
        case (_?, _?):
            c.report("allow and deny cannot both be given")
            return nil
        }
    }
}

extension RemoteMCPSpec {
    /// An OAuth scope token (RFC 6749 section 3.3): printable ASCII except space, `"` and `\`, at most 128 bytes.
    public static func isValidScope(_ scope: String) -> Bool {
        !scope.isEmpty && scope.utf8.count <= 128
            && scope.utf8.allSatisfy { $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }
    }
}

extension ProviderManifest {
    func withSourcePath(_ path: String) -> ProviderManifest {
        var copy = self
        copy.sourcePath = path
        return copy
    }
}
