extension WebhookEventType {
    /// The event a failed refresh sends, given the connection before and after it, or nil for none.
    ///
    /// A refused refresh token is `needs_reauth`, once. A transient failure is `refresh_failed` when it starts a run
    /// of failures (the connection had no error) and again when the token expired meanwhile (the state became
    /// `error`); the retries in between send nothing, so a receiver is not flooded during a provider outage.
    public static func afterFailedRefresh(from before: Connection, to after: Connection) -> WebhookEventType? {
        if after.state == .needsReauth { return before.state == .needsReauth ? nil : .needsReauth }
        if before.lastError == nil { return .refreshFailed }
        if after.state == .error, before.state != .error { return .refreshFailed }
        return nil
    }

    /// The event a successful refresh sends: `recovered` when the connection had failed before and is `active` now.
    public static func afterRefresh(from before: Connection, to after: Connection) -> WebhookEventType? {
        guard after.state == .active, before.lastError != nil || before.state == .error else { return nil }
        return .recovered
    }
}
