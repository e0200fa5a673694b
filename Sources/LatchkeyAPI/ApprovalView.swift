import Foundation
import LatchkeyModel

/// An approval as the API shows it. `call` (what exactly is asked, secrets masked) is shown to those who decide;
/// the agent gets the provider's answer instead, as `result` beside this view.
public struct ApprovalView: Encodable, Sendable {
    public var id: String
    /// `pending`, `expired`, `running`, `done`, `failed` or `declined`.
    public var state: String
    public var agent: String
    /// The key the call came with: `key_` and the first 12 hex digits of its hash.
    public var key: String
    public var provider: String
    public var connection: String
    /// The connection's owner: its person may decide.
    public var connectionOwner: String
    /// What is asked, without arguments or body: `GET github /repos/acme/x` or `github.create_issue`.
    public var summary: String
    public var call: JSONValue?
    public var url: String
    public var createdAt: Date
    public var expiresAt: Date
    public var decidedBy: String?
    public var decidedAt: Date?
    public var finishedAt: Date?
    /// The provider's status, once the call ran.
    public var resultStatus: Int?

    public init(
        id: String, state: String, agent: String, key: String, provider: String, connection: String, connectionOwner: String, summary: String,
        call: JSONValue?, url: String, createdAt: Date, expiresAt: Date, decidedBy: String?, decidedAt: Date?, finishedAt: Date?,
        resultStatus: Int?
    ) {
        self.id = id
        self.state = state
        self.agent = agent
        self.key = key
        self.provider = provider
        self.connection = connection
        self.connectionOwner = connectionOwner
        self.summary = summary
        self.call = call
        self.url = url
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.finishedAt = finishedAt
        self.resultStatus = resultStatus
    }

    enum CodingKeys: String, CodingKey {
        case id, state, agent, key, provider, connection, summary, call, url
        case connectionOwner = "connection_owner"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case decidedBy = "decided_by"
        case decidedAt = "decided_at"
        case finishedAt = "finished_at"
        case resultStatus = "result_status"
    }
}
