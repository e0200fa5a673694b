import Foundation
import LatchkeyModel

/// One grant as the admin API shows it: `tools`, or `methods` and `paths`; `connection` and `expires_at` are `null`
/// when unbound; `expired` says whether it still counts.
public struct GrantView: Encodable, Sendable {
    public var provider: String
    public var tools: [String]?
    public var methods: [String]?
    public var paths: [String]?
    @Nullable public var connection: String?
    @Nullable public var expiresAt: Date?
    public var approval: String
    public var expired: Bool

    public init(
        provider: String, tools: [String]?, methods: [String]?, paths: [String]?, connection: String?, expiresAt: Date?, approval: String,
        expired: Bool
    ) {
        self.provider = provider
        self.tools = tools
        self.methods = methods
        self.paths = paths
        self.connection = connection
        self.expiresAt = expiresAt
        self.approval = approval
        self.expired = expired
    }

    enum CodingKeys: String, CodingKey {
        case provider, tools, methods, paths, connection, approval, expired
        case expiresAt = "expires_at"
    }
}
