import Foundation

/// One line of `GET /v1/admin/audit/export`: an audit event with its place in its org's hash chain, as a SIEM keeps it.
/// `at_us` is the time the hash covers (whole microseconds since 1970); `at` is the same time to the second.
public struct AuditExportLine: Codable, Sendable, Equatable {
    public var id: Int64
    /// The org whose chain it is in ("" for events of no org); nil for an event written outside the chain.
    public var chain: String?
    public var seq: Int64?
    public var at: Date
    public var atMicroseconds: Int64
    public var actor: String
    public var action: String
    public var owner: String?
    public var provider: String?
    public var connection: String?
    public var outcome: String
    public var detail: String?
    public var previousHash: String?
    public var hash: String?

    public init(
        id: Int64, chain: String?, seq: Int64?, at: Date, atMicroseconds: Int64, actor: String, action: String, owner: String?,
        provider: String?, connection: String?, outcome: String, detail: String?, previousHash: String?, hash: String?
    ) {
        self.id = id
        self.chain = chain
        self.seq = seq
        self.at = at
        self.atMicroseconds = atMicroseconds
        self.actor = actor
        self.action = action
        self.owner = owner
        self.provider = provider
        self.connection = connection
        self.outcome = outcome
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case id, chain, seq, at, actor, action, owner, provider, connection, outcome, detail, hash
        case atMicroseconds = "at_us"
        case previousHash = "prev_hash"
    }
}
