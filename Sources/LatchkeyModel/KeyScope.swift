import Foundation

/// What a narrowed key holds its agent to: the key's own grants (each within what the key it was minted from may
/// do), how many times it was narrowed, and when it ends.
public struct KeyScope: Sendable, Hashable {
    /// SHA-256 of the key, hex.
    public var keyHash: String
    public var depth: Int
    public var grants: [StoredGrant]
    public var expiresAt: Date

    public init(keyHash: String, depth: Int, grants: [StoredGrant], expiresAt: Date) {
        self.keyHash = keyHash
        self.depth = depth
        self.grants = grants
        self.expiresAt = expiresAt
    }

    /// Names the key in audits and listings without revealing it: the first 12 hex characters of its hash.
    public var keyID: String { "key_" + keyHash.prefix(12) }
}
