/// The lifecycle state of a connection, as `GET /v1/connections` reports it.
public enum ConnectionState: String, Sendable, Codable, CaseIterable {
    /// Installed for an owner; no credential yet.
    case installed
    /// A usable credential is stored.
    case active
    /// The provider refused the refresh token (`invalid_grant`); a person must connect again.
    case needsReauth = "needs_reauth"
    /// The credential was revoked and destroyed.
    case revoked
    /// Refresh kept failing transiently and the access token has expired.
    case error
}

/// The events that move a connection between states.
public enum ConnectionEvent: Sendable, Equatable {
    /// A person finished a connect flow (first connect or reconnect).
    case connected
    /// A refresh succeeded.
    case refreshed
    /// The provider answered `invalid_grant` or `unauthorized_client`: final.
    case refreshRejected
    /// A transient refresh failure after the access token expired.
    case refreshFailedAfterExpiry
    /// An admin or the owner revoked the connection.
    case revoked
}

/// The connection lifecycle as a pure state machine: it decides, its owner does the I/O.
public struct ConnectionLifecycle: Sendable {
    public private(set) var state: ConnectionState

    public init(_ state: ConnectionState) { self.state = state }

    /// Applies `event`, returning the new state, or throws `conflict` when the transition is not allowed.
    @discardableResult
    public mutating func apply(_ event: ConnectionEvent) throws(LatchkeyError) -> ConnectionState {
        let next: ConnectionState? =
            switch (state, event) {
            case (.revoked, _): nil
            case (_, .connected): .active
            case (_, .revoked): .revoked
            case (.active, .refreshed), (.error, .refreshed): .active
            case (.active, .refreshRejected), (.error, .refreshRejected): .needsReauth
            case (.active, .refreshFailedAfterExpiry), (.error, .refreshFailedAfterExpiry): .error
            default: nil
            }
        guard let next else {
            throw LatchkeyError(.conflict, "connection in state \(state.rawValue) cannot take event \(event)")
        }
        state = next
        return next
    }
}
