import Foundation
import LatchkeyManifest
import LatchkeyModel

extension GrantReader {
    /// A reader that knows the providers and tools of `catalog`.
    public init(now: Date, catalog: ProviderCatalog) {
        self.init(now: now) { provider, tool in
            guard let manifest = catalog.manifests[provider] else { return false }
            return tool.map { manifest.tool(named: $0) != nil } ?? true
        }
    }

    /// The grants in `value`, refusing any that asks for approval of each call, which this server does not run yet.
    public func grantsWithoutApproval(_ value: JSONValue?) throws(LatchkeyError) -> [Grant] {
        let read = try grants(value)
        if let index = read.firstIndex(where: { $0.approval != .none }) {
            throw LatchkeyError(
                .invalidRequest, "grants[\(index)].approval: approval of each call is not available on this server yet",
                field: "grants[\(index)].approval")
        }
        return read
    }
}
