import Hummingbird
import LatchkeyModel
import LatchkeyStore

/// The org a route's `:org` path parameter names.
enum OrgPath {
    /// The org named, which must exist: `invalid_owner` for a malformed name, `not_found` (field `org`) for a missing one.
    static func existing(_ parameters: Parameters, store: any IdentityStore) async throws -> OwnerRef {
        let org = try OwnerRef(kind: .org, path: parameters.get("org") ?? "", field: "org")
        guard try await store.ownerExists(org) else { throw LatchkeyError(.notFound, "\(org) does not exist", field: "org") }
        return org
    }
}
