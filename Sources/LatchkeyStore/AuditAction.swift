import LatchkeyModel

/// What an audit event records as done: a dotted name such as `connection.refreshed`, its first part the kind of
/// thing acted on. Every action Latchkey records is one of the constants below; a stored name from an older version
/// reads back as it was. It is coded as its name alone (the standard library's coding of a raw value).
public struct AuditAction: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static let adminSignIn = AuditAction(rawValue: "admin.sign_in")

    public static let agentGrantsSet = AuditAction(rawValue: "agent.grants_set")
    public static let agentKeyCreated = AuditAction(rawValue: "agent.key_created")
    public static let agentKeyNarrowed = AuditAction(rawValue: "agent.key_narrowed")
    public static let agentKeysRevoked = AuditAction(rawValue: "agent.keys_revoked")

    public static let approvalApproved = AuditAction(rawValue: "approval.approved")
    public static let approvalDeclined = AuditAction(rawValue: "approval.declined")
    public static let approvalFailed = AuditAction(rawValue: "approval.failed")
    public static let approvalRan = AuditAction(rawValue: "approval.ran")
    public static let approvalRequested = AuditAction(rawValue: "approval.requested")

    public static let appRegistered = AuditAction(rawValue: "app.registered")
    public static let appSecretRotated = AuditAction(rawValue: "app.secret_rotated")

    public static let connectExchangeFailed = AuditAction(rawValue: "connect.exchange_failed")
    public static let connectFailed = AuditAction(rawValue: "connect.failed")
    public static let connectStarted = AuditAction(rawValue: "connect.started")
    public static let connectWrongPerson = AuditAction(rawValue: "connect.wrong_person")

    public static let connectSessionCreated = AuditAction(rawValue: "connect_session.created")

    public static let connectionAccountMismatch = AuditAction(rawValue: "connection.account_mismatch")
    public static let connectionConnected = AuditAction(rawValue: "connection.connected")
    public static let connectionIntegrityFailed = AuditAction(rawValue: "connection.integrity_failed")
    public static let connectionMismatchedGrantRevoked = AuditAction(rawValue: "connection.mismatched_grant_revoked")
    public static let connectionReconnected = AuditAction(rawValue: "connection.reconnected")
    public static let connectionRefreshFailed = AuditAction(rawValue: "connection.refresh_failed")
    public static let connectionRefreshForced = AuditAction(rawValue: "connection.refresh_forced")
    public static let connectionRefreshed = AuditAction(rawValue: "connection.refreshed")
    public static let connectionReplacedGrantRevoked = AuditAction(rawValue: "connection.replaced_grant_revoked")
    public static let connectionRevokedAtProvider = AuditAction(rawValue: "connection.revoked_at_provider")
    public static let connectionUsed = AuditAction(rawValue: "connection.used")

    public static let consentGranted = AuditAction(rawValue: "consent.granted")
    public static let consentRefused = AuditAction(rawValue: "consent.refused")
    public static let consentWithdrawn = AuditAction(rawValue: "consent.withdrawn")
    public static let consentWrongPerson = AuditAction(rawValue: "consent.wrong_person")

    public static let creditsAdded = AuditAction(rawValue: "credits.added")

    public static let grantsSet = AuditAction(rawValue: "grants.set")

    public static let integrationInstalled = AuditAction(rawValue: "integration.installed")
    public static let integrationRemoved = AuditAction(rawValue: "integration.removed")

    public static let keysRotated = AuditAction(rawValue: "keys.rotated")
    public static let keysVerified = AuditAction(rawValue: "keys.verified")
    public static let keysVersionAdded = AuditAction(rawValue: "keys.version_added")
    public static let keysVersionCurrent = AuditAction(rawValue: "keys.version_current")
    public static let keysVersionRetired = AuditAction(rawValue: "keys.version_retired")

    public static let mcpServerAdded = AuditAction(rawValue: "mcp_server.added")
    public static let mcpServerRemoved = AuditAction(rawValue: "mcp_server.removed")
    /// Latchkey registered itself as a client (RFC 7591) at a remote MCP server's authorization server for an org.
    public static let mcpClientRegistered = AuditAction(rawValue: "mcp_client.registered")

    public static let orgCredentialsChosen = AuditAction(rawValue: "org.credentials_chosen")
    public static let orgPolicySet = AuditAction(rawValue: "org.policy_set")
    public static let orgSignInConfigured = AuditAction(rawValue: "org.sign_in_configured")

    public static let ownerCreated = AuditAction(rawValue: "owner.created")
    public static let ownerDataKeyDestroyed = AuditAction(rawValue: "owner.data_key_destroyed")
    public static let ownerRevoked = AuditAction(rawValue: "owner.revoked")

    public static let personSignIn = AuditAction(rawValue: "person.sign_in")
    public static let personSignInLinkCreated = AuditAction(rawValue: "person.sign_in_link_created")
    public static let personSignedIn = AuditAction(rawValue: "person.signed_in")
    public static let personSignedOut = AuditAction(rawValue: "person.signed_out")

    public static let webhookRegistered = AuditAction(rawValue: "webhook.registered")
    public static let webhookRemoved = AuditAction(rawValue: "webhook.removed")
    public static let webhookReplaced = AuditAction(rawValue: "webhook.replaced")
}

/// Who did what an audit event records: the admin, the system (background work), a browser (a person not signed in,
/// on a connect link), or an owner (an agent, or a person acting for themselves).
public struct AuditActor: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// The actor that `caller` is.
    public init(_ caller: Caller) { self.init(rawValue: caller.actorName) }

    public var description: String { rawValue }

    public static let admin = AuditActor(rawValue: "admin")
    public static let system = AuditActor(rawValue: "system")
    public static let browser = AuditActor(rawValue: "browser")

    /// An agent, or a person acting for themselves.
    public static func owner(_ ref: OwnerRef) -> AuditActor { AuditActor(rawValue: ref.description) }
}
