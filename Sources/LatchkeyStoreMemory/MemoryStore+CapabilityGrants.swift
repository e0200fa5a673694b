import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: CapabilityGrantStore {
    public func replaceGrants(owner: OwnerRef, _ grants: [StoredGrant], at: Date) async throws {
        try locked { state in
            // A grant names its owner, as the engines' foreign key does; an empty list names nobody.
            if !grants.isEmpty { try state.requireOwner(owner) }
            state.capabilityGrants[owner] = grants.isEmpty ? nil : grants
        }
    }

    public func grants(owners: [OwnerRef]) async throws -> [OwnerRef: [StoredGrant]] {
        locked { state in Dictionary(owners.map { ($0, state.capabilityGrants[$0] ?? []) }, uniquingKeysWith: { a, _ in a }) }
    }

    public func setAccessPolicy(org: String, _ policy: OrgAccessPolicy, at: Date) async throws {
        try locked { state in
            try state.requireOwner(try OwnerRef(kind: .org, path: org, field: "org"))
            state.accessPolicies[org] = policy
        }
    }

    public func accessPolicy(org: String) async throws -> OrgAccessPolicy {
        locked { $0.accessPolicies[org] ?? .open }
    }
}
