import LatchkeyModel

/// The loaded provider manifests.
public struct ProviderCatalog: Sendable {
    public let manifests: [ProviderID: ProviderManifest]
    public init(_ manifests: [ProviderID: ProviderManifest]) { self.manifests = manifests }

    /// The manifest of `id`, or `unknown_provider` naming the field.
    public func manifest(_ id: String, field: String = "provider") throws(LatchkeyError) -> ProviderManifest {
        guard let m = manifests[ProviderID(id)] else {
            throw LatchkeyError(.unknownProvider, "\(field): no provider '\(id.prefix(64))' is loaded", field: field)
        }
        return m
    }

    /// The tool named `provider.tool`, or `not_found` naming `field`.
    public func tool(named name: String, field: String = "tool") throws(LatchkeyError) -> (ProviderManifest, ToolSpec) {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let manifest = manifests[ProviderID(parts[0])], let tool = manifest.tool(named: parts[1]) else {
            throw LatchkeyError(.notFound, "\(field): no tool '\(name.prefix(80))' (expected provider.tool)", field: field)
        }
        return (manifest, tool)
    }

    public var sorted: [ProviderManifest] { manifests.values.sorted { $0.id < $1.id } }
}
