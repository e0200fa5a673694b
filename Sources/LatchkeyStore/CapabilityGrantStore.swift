import Foundation
import LatchkeyModel

/// One grant as stored: a provider's tools, or its proxy rules (methods × path patterns), optionally bound to one
/// connection, an expiry and approval of each call. `LatchkeyGrants` reads it into a checked `Grant`.
public struct StoredGrant: Sendable, Hashable {
    public var provider: ProviderID
    /// The tools granted; empty for a proxy grant.
    public var tools: [String]
    /// The HTTP methods of a proxy grant, upper case; empty for a tool grant.
    public var methods: [String]
    /// The path patterns of a proxy grant, as written (`/repos/acme/*`); empty for a tool grant.
    public var paths: [String]
    public var connection: ConnectionID?
    public var expiresAt: Date?
    /// `none` or `each_call`.
    public var approval: String

    public init(
        provider: ProviderID, tools: [String] = [], methods: [String] = [], paths: [String] = [],
        connection: ConnectionID? = nil, expiresAt: Date? = nil, approval: String = "none"
    ) {
        self.provider = provider
        self.tools = tools
        self.methods = methods
        self.paths = paths
        self.connection = connection
        self.expiresAt = expiresAt
        self.approval = approval
    }
}

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
