import Foundation
import LatchkeyModel

/// A key an agent minted for a sub-agent or one task: at most what the key it was minted from may do, for a short
/// time. Stored, like every key, only as the SHA-256 of its value.
public struct NarrowedKeyRecord: Sendable, Hashable {
    public var keyHash: String
    public var agent: OwnerRef
    /// The hash of the key it was minted from: one of the agent's own keys, or another narrowed key.
    public var parentHash: String
    /// 1 for a key minted from an agent's own key, one more for each narrowing after that.
    public var depth: Int
    /// All the key may do; each grant ends no later than the key.
    public var grants: [StoredGrant]
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        keyHash: String, agent: OwnerRef, parentHash: String, depth: Int, grants: [StoredGrant], createdAt: Date, expiresAt: Date
    ) {
        self.keyHash = keyHash
        self.agent = agent
        self.parentHash = parentHash
        self.depth = depth
        self.grants = grants
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Narrowed keys.
///
/// Contract:
/// - `addNarrowedKey` needs an existing agent (`conflict` otherwise) and a hash not yet used by any key (`conflict`).
///   Its parent must be a live key of the same agent, checked in the same step: an unrevoked agent key, or a narrowed
///   key unexpired at `createdAt`; otherwise `unauthenticated`. A mint and a revocation of the agent's keys are
///   ordered, so no narrowed key outlives the revocation, whichever replica mints it.
/// - `narrowedKey(hash:)` finds a key until `revokeAgentKeys` of its agent, expired ones included: the caller
///   compares `expiresAt` with its clock.
/// - `IdentityStore.revokeAgentKeys` also removes every narrowed key of the agent, in the same step, and counts them.
/// - `narrowedKeys(agent:)` lists an agent's keys, newest first.
/// - `purgeNarrowedKeys(expiredBefore:)` deletes the keys (of every agent) that expired before the instant, and counts
///   them. No live key is a child of an expired one: a key never outlives the key it was minted from.
public protocol NarrowedKeyStore: Sendable {
    func addNarrowedKey(_ key: NarrowedKeyRecord) async throws
    func narrowedKey(hash: String) async throws -> NarrowedKeyRecord?
    func narrowedKeys(agent: OwnerRef) async throws -> [NarrowedKeyRecord]
    func purgeNarrowedKeys(expiredBefore: Date) async throws -> Int
}

extension NarrowedKeyRecord {
    /// The error for a mint whose parent key was revoked (or expired) before the key could be stored.
    public static let parentGone = LatchkeyError(.unauthenticated, "Authorization: the key this one is minted from is revoked or expired", field: "Authorization")
}
