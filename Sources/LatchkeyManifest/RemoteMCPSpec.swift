import LatchkeyModel

/// What a provider is: an HTTP API described by its manifest, or a remote MCP server whose tools and authorization
/// are found at run time.
public enum ProviderKind: String, Sendable, Equatable, CaseIterable {
    case api
    case mcp
}

/// Where a provider's definition came from.
public enum ManifestOrigin: Sendable, Equatable {
    /// A YAML file under the providers directories.
    case file
    /// An admin's `POST /v1/admin/mcp-servers`, kept in the store.
    case admin
}

/// A remote MCP server (`kind: mcp`): its Streamable HTTP endpoint, the scopes asked for, and which of its tools
/// agents may see.
public struct RemoteMCPSpec: Sendable, Equatable {
    /// The MCP endpoint, e.g. `https://mcp.example.com/mcp`; also the resource (RFC 8707) its tokens are for.
    public var url: String
    /// The scopes asked for at connect time. Empty means those the server's metadata names.
    public var scopes: [String]
    public var tools: ToolFilter

    public init(url: String, scopes: [String] = [], tools: ToolFilter = .all) {
        self.url = url
        self.scopes = scopes
        self.tools = tools
    }

    /// Why `url` cannot be a remote MCP server's endpoint, or nil when it can: https (http only to loopback), a
    /// host, no credentials, no fragment, at most 2,048 bytes.
    public static func problem(url: String) -> String? {
        guard url.utf8.count <= 2048 else { return "must be at most 2048 bytes" }
        guard URLRules.isAllowed(url) else { return "must be https (http is allowed only to loopback hosts): '\(url.prefix(200))'" }
        guard !url.contains("#") else { return "must not have a fragment" }
        guard !url.contains("{") && !url.contains("}") else { return "must not have placeholders" }
        let afterScheme = url.drop { $0 != ":" }.dropFirst(3)
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
        guard !authority.contains("@") else { return "must not carry credentials" }
        guard !authority.isEmpty, !authority.hasPrefix(":") else { return "must name a host" }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return "must be ASCII with no spaces (percent-encode anything else)"
        }
        return nil
    }

    /// Whether `name` can be a remote server's tool name: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, as the MCP
    /// specification recommends.
    public static func isValidToolName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }
    }
}

/// Which of a remote server's tools agents may see: all of them, only those allowed, or all but those denied.
public enum ToolFilter: Sendable, Equatable {
    case all
    case allow([String])
    case deny([String])

    /// Whether the tool named `name` (the server's own name) passes the filter.
    public func admits(_ name: String) -> Bool {
        switch self {
        case .all: true
        case .allow(let names): names.contains(name)
        case .deny(let names): !names.contains(name)
        }
    }
}

extension ProviderManifest {
    /// The manifest of a remote MCP server that an admin added: no file, its authorization found by discovery.
    public static func remoteMCP(
        id: ProviderID, name: String, spec: RemoteMCPSpec, docs: String? = nil, categories: [String] = ["mcp"],
        pricing: Pricing = .free, origin: ManifestOrigin = .admin
    ) -> ProviderManifest {
        ProviderManifest(
            id: id, name: name, docs: docs ?? spec.url, categories: categories, auth: .remoteMCP, connectionConfig: [], proxy: nil,
            pricing: pricing, tools: [], sourcePath: origin == .admin ? "(added by an admin)" : "", kind: .mcp, mcp: spec, origin: origin)
    }
}
