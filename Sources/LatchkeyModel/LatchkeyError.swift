import Foundation

/// An error of Latchkey's own, with a stable snake_case code that callers may match on.
///
/// The code is part of the public API: the HTTP layer maps it to a status, the JSON body carries it
/// as `error.code`, and metrics may use it as a label. The message is for people and never holds a secret.
public struct LatchkeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable error code. New codes never break callers that switch on known ones.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidRequest = Code(rawValue: "invalid_request")
        public static let invalidOwner = Code(rawValue: "invalid_owner")
        public static let unauthenticated = Code(rawValue: "unauthenticated")
        public static let forbidden = Code(rawValue: "forbidden")
        public static let notFound = Code(rawValue: "not_found")
        public static let conflict = Code(rawValue: "conflict")
        public static let unknownProvider = Code(rawValue: "unknown_provider")
        public static let appNotConfigured = Code(rawValue: "app_not_configured")
        public static let invalidState = Code(rawValue: "invalid_state")
        public static let sessionExpired = Code(rawValue: "session_expired")
        public static let sessionUsed = Code(rawValue: "session_used")
        public static let accessDenied = Code(rawValue: "access_denied")
        public static let providerError = Code(rawValue: "provider_error")
        public static let providerUnavailable = Code(rawValue: "provider_unavailable")
        public static let providerTimeout = Code(rawValue: "provider_timeout")
        public static let invalidProviderResponse = Code(rawValue: "invalid_provider_response")
        public static let invalidAPIKey = Code(rawValue: "invalid_api_key")
        public static let returnToNotAllowed = Code(rawValue: "return_to_not_allowed")
        public static let issuerMismatch = Code(rawValue: "issuer_mismatch")
        public static let decryptionFailed = Code(rawValue: "decryption_failed")
        /// The master keys come from a source Latchkey cannot write (the environment), and the call needs a new version.
        public static let keySourceReadonly = Code(rawValue: "key_source_readonly")
        /// A master-key change needs every running replica to hold the key first, and one or more do not yet.
        public static let replicasNotReady = Code(rawValue: "replicas_not_ready")
        public static let notConnected = Code(rawValue: "not_connected")
        /// A reconnect finished with another provider account than the connection was made with.
        public static let accountMismatch = Code(rawValue: "account_mismatch")
        /// A connect link whose connection, integration or owner (or an owner above it) was revoked or removed.
        public static let sessionRevoked = Code(rawValue: "session_revoked")
        /// A link for a person was opened by somebody else, or by nobody signed in as that person.
        public static let wrongPerson = Code(rawValue: "wrong_person")
        /// A call names a person whose connection this agent has not been granted by that person.
        public static let consentRequired = Code(rawValue: "consent_required")
        public static let reauthRequired = Code(rawValue: "reauth_required")
        public static let creditsExhausted = Code(rawValue: "credits_exhausted")
        public static let toolNotGranted = Code(rawValue: "tool_not_granted")
        /// Under an org policy of `granted`, a read tool or proxied call that no grant covers.
        public static let notGranted = Code(rawValue: "not_granted")
        /// A narrowed key asked for more than the key it is minted from may do, or past the deepest narrowing.
        public static let exceedsParent = Code(rawValue: "exceeds_parent")
        /// A call under a grant (or tool) that needs a person's approval of each call: it waits, as the approval says.
        public static let approvalRequired = Code(rawValue: "approval_required")
        /// The approval of the call was declined: the call never ran.
        public static let approvalDeclined = Code(rawValue: "approval_declined")
        /// Nobody decided in time, or the answer of the call is no longer kept.
        public static let approvalExpired = Code(rawValue: "approval_expired")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        public static let rateLimited = Code(rawValue: "rate_limited")
        /// The server holds as many connections as it may (503).
        public static let serverBusy = Code(rawValue: "server_busy")
        public static let internalError = Code(rawValue: "internal_error")
    }

    public var code: Code
    /// A human-readable message naming the field or value at fault. Never a secret.
    public var message: String
    /// The request field at fault, when there is one (e.g. `owner`, `return_to`).
    public var field: String?
    /// The RFC 6749 error code a provider answered with, when there was one (e.g. `invalid_grant`).
    public var oauthError: String?
    /// Seconds after which the call may be tried again, for `rate_limited`.
    public var retryAfter: Int?
    /// For `reauth_required`: a connect link a person can open to connect the account again, and when it expires.
    public var connectURL: String?
    public var connectURLExpiresAt: Date?
    /// For `consent_required`: the page where the person can grant this agent use of the connection.
    public var consentURL: String?
    /// For `approval_required`: the approval the call waits for.
    public var approval: ApprovalTicket?

    public init(_ code: Code, _ message: String, field: String? = nil, oauthError: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.oauthError = oauthError
    }

    public var description: String { "\(code): \(message)" }
}
