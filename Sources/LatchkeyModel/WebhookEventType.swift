/// A connection event that an org's webhook may receive, named as in the payload's `type`.
public enum WebhookEventType: String, Sendable, Codable, CaseIterable {
    /// A person finished a connect flow (first connect or reconnect), or an admin added a key.
    case connected
    /// A refresh failed transiently (5xx, timeout, refused connection). Sent when a run of failures starts and
    /// again when the token expires meanwhile (the state becomes `error`), not on every retry.
    case refreshFailed = "refresh_failed"
    /// The provider refused the refresh token (`invalid_grant`, `unauthorized_client`): a person must reconnect.
    case needsReauth = "needs_reauth"
    /// A refresh succeeded after failures: the connection is `active` again.
    case recovered
    /// The connection was removed or revoked, and its credential destroyed.
    case revoked

    /// Parses event names, keeping each once in declaration order; the unknown names come back separately.
    public static func parse(_ names: [String]) -> (events: [WebhookEventType], unknown: [String]) {
        let known = Set(names.compactMap(WebhookEventType.init(rawValue:)))
        return (allCases.filter(known.contains), names.filter { WebhookEventType(rawValue: $0) == nil })
    }
}
