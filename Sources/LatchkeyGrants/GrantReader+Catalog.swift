import Foundation
import LatchkeyManifest
import LatchkeyModel

extension GrantReader {
    /// A reader that knows the providers and tools of `catalog`.
    public init(now: Date, catalog: ProviderCatalog) {
        self.init(now: now) { provider, tool in
            guard let manifest = catalog.manifests[provider] else { return false }
            // A remote MCP server's tools are listed by the server at run time: any well-formed name may be granted.
            return tool.map { manifest.tool(named: $0) != nil || (manifest.kind == .mcp && RemoteMCPSpec.isValidToolName($0)) } ?? true
        }
    }

}
