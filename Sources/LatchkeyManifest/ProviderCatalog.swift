import LatchkeyModel
import Synchronization

/// The providers this process knows: the manifests loaded from files, and the remote MCP servers admins added.
///
/// One catalog is shared by every service of a process, so a server an admin adds (or a replica's sync finds) is
/// known everywhere at once. File manifests never change while the process runs.
public final class ProviderCatalog: Sendable {
    private let state: Mutex<[ProviderID: ProviderManifest]>

    public init(_ manifests: [ProviderID: ProviderManifest]) { state = Mutex(manifests) }

    /// Every provider, by id: a snapshot.
    public var manifests: [ProviderID: ProviderManifest] { state.withLock { $0 } }

    /// The manifest of `id`, or `unknown_provider` naming the field.
    public func manifest(_ id: String, field: String = "provider") throws(LatchkeyError) -> ProviderManifest {
        guard let m = state.withLock({ $0[ProviderID(id)] }) else {
            throw LatchkeyError(.unknownProvider, "\(field): no provider '\(id.prefix(64))' is loaded", field: field)
        }
        return m
    }

    /// The tool named `provider.tool`, or `not_found` naming `field`.
    public func tool(named name: String, field: String = "tool") throws(LatchkeyError) -> (ProviderManifest, ToolSpec) {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let manifest = state.withLock({ $0[ProviderID(parts[0])] }), let tool = manifest.tool(named: parts[1]) else {
            throw LatchkeyError(.notFound, "\(field): no tool '\(name.prefix(80))' (expected provider.tool)", field: field)
        }
        return (manifest, tool)
    }

    /// `provider.tool` as a grant names it: a manifest's tool, or any well-formed tool name of a remote MCP server
    /// (whose server lists its tools at run time); `not_found` naming `field` otherwise.
    public func grantableTool(named name: String, field: String = "tool") throws(LatchkeyError) -> (provider: ProviderID, tool: String) {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        if parts.count == 2, let manifest = state.withLock({ $0[ProviderID(parts[0])] }), manifest.kind == .mcp,
            RemoteMCPSpec.isValidToolName(parts[1])
        {
            return (manifest.id, parts[1])
        }
        let (manifest, tool) = try self.tool(named: name, field: field)
        return (manifest.id, tool.name)
    }

    public var sorted: [ProviderManifest] { manifests.values.sorted { $0.id < $1.id } }

    /// Makes the admin-added providers exactly `stored`, leaving file manifests alone. A stored id that a file
    /// manifest already uses is skipped (the file wins) and returned, so the caller can say so.
    @discardableResult
    public func replaceAdminAdded(with stored: [ProviderManifest]) -> [ProviderID] {
        state.withLock { manifests in
            var shadowed: [ProviderID] = []
            for (id, m) in manifests where m.origin == .admin { manifests[id] = nil }
            for m in stored {
                if manifests[m.id] != nil { shadowed.append(m.id) } else { manifests[m.id] = m }
            }
            return shadowed
        }
    }

    /// Adds one admin-added provider; false when the id is taken.
    public func addAdminAdded(_ manifest: ProviderManifest) -> Bool {
        state.withLock { manifests in
            guard manifests[manifest.id] == nil else { return false }
            manifests[manifest.id] = manifest
            return true
        }
    }

    /// Removes an admin-added provider (a file manifest is never removed).
    public func removeAdminAdded(_ id: ProviderID) {
        state.withLock { manifests in
            if manifests[id]?.origin == .admin { manifests[id] = nil }
        }
    }
}
