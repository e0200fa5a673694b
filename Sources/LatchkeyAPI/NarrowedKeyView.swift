import Foundation

/// A narrowed key as the admin API lists it (never the key itself): its id, the key it was minted from, its depth,
/// when it was made and ends, and its grants.
public struct NarrowedKeyView: Encodable, Sendable {
    public var id: String
    public var parent: String
    public var depth: Int
    public var createdAt: Date
    public var expiresAt: Date
    public var expired: Bool
    public var grants: [GrantView]

    public init(id: String, parent: String, depth: Int, createdAt: Date, expiresAt: Date, expired: Bool, grants: [GrantView]) {
        self.id = id
        self.parent = parent
        self.depth = depth
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.expired = expired
        self.grants = grants
    }

    enum CodingKeys: String, CodingKey {
        case id, parent, depth, expired, grants
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }
}
