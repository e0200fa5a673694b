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

    public var sorted: [ProviderManifest] { manifests.values.sorted { $0.id < $1.id } }
}
