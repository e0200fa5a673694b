import Foundation

/// What an agent gets back when its call waits for a person's approval: where to follow it, and until when a person
/// can decide.
public struct ApprovalTicket: Sendable, Hashable {
    /// `apr_` and 32 hex digits.
    public var id: String
    /// The page where a person (the connection's, or an admin) approves or declines the call.
    public var url: String
    public var expiresAt: Date

    public init(id: String, url: String, expiresAt: Date) {
        self.id = id
        self.url = url
        self.expiresAt = expiresAt
    }
}
