import Foundation
import LatchkeyModel

/// Owners (orgs, teams, projects, agents, users) and agents' API keys.
///
/// Contract:
/// - `createOwner` fails with `conflict` when the owner exists and `not_found` when its parent does not.
/// - Agent keys are stored only as SHA-256 hashes. `agent(forKeyHash:)` finds only unrevoked keys.
/// - `markOwnerRevoked` records when an owner was revoked; a later call moves the time forward, never back.
public protocol IdentityStore: Sendable {
    /// Creates an owner whose parent already exists.
    func createOwner(_ owner: OwnerRef, at: Date) async throws
    /// Whether the owner exists.
    func ownerExists(_ owner: OwnerRef) async throws -> Bool
    /// Every owner of `kind` under `org`.
    func owners(kind: OwnerRef.Kind, org: String) async throws -> [OwnerRef]
    /// The name of every org, in order.
    func orgNames() async throws -> [String]
    /// Adds a key (by hash) to an existing agent.
    func addAgentKey(hash: String, agent: OwnerRef, at: Date) async throws
    /// The agent a key belongs to, when the key exists and is not revoked.
    func agent(forKeyHash hash: String) async throws -> OwnerRef?
    /// Revokes every key of the agent and removes its narrowed keys, in one step. Returns how many of both.
    func revokeAgentKeys(agent: OwnerRef, at: Date) async throws -> Int
    /// Records that `owner` (and so everything below it) was revoked at `at`.
    func markOwnerRevoked(_ owner: OwnerRef, at: Date) async throws
    /// The latest revocation of any of `owners` (an owner chain), or nil when none of them was ever revoked.
    func latestRevocation(of owners: [OwnerRef]) async throws -> Date?
}
