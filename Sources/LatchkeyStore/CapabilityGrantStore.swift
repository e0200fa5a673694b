import Foundation
import LatchkeyModel

/// The grants of agents, projects and teams (an agent inherits those of its project and team), and each org's
/// access policy.
///
/// Contract:
/// - `replaceGrants` replaces the owner's whole list in one step; the owner must exist (`conflict` otherwise, as a
///   foreign key), except that an empty list may be set for anyone. Lists come back in the order they were set.
/// - Expired grants are kept and returned, so they can be shown as expired; the caller decides by time.
/// - `grants(owners:)` answers every owner asked for, with an empty list for an owner with none.
/// - An org without a policy has `OrgAccessPolicy.open`.
public protocol CapabilityGrantStore: Sendable {
    func replaceGrants(owner: OwnerRef, _ grants: [StoredGrant], at: Date) async throws
    func grants(owners: [OwnerRef]) async throws -> [OwnerRef: [StoredGrant]]
    func setAccessPolicy(org: String, _ policy: OrgAccessPolicy, at: Date) async throws
    func accessPolicy(org: String) async throws -> OrgAccessPolicy
}
