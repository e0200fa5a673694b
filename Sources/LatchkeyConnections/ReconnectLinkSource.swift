import Foundation
import LatchkeyModel

/// Hands out a link that a person opens to connect a connection again (the connect flow), for answers that say the
/// connection needs a person.
public protocol ReconnectLinkSource: Sendable {
    /// A link for `connection` that `caller` may hand on, with its expiry; nil when there is none to give.
    func reconnectLink(for connection: Connection, caller: Caller) async -> (url: String, expiresAt: Date)?
}

extension ReconnectLinkSource {
    /// `error` (a `reauth_required`) with a link that `caller` may hand a person to connect `connection` again, or
    /// saying that an admin can create one.
    public func withReconnectLink(_ error: LatchkeyError, for connection: Connection, caller: Caller) async -> LatchkeyError {
        var error = error
        if let link = await reconnectLink(for: connection, caller: caller) {
            error.connectURL = link.url
            error.connectURLExpiresAt = link.expiresAt
            error.message += "; a person can connect it again at the connect_url"
        } else {
            error.message += "; an admin can create a connect link for it"
        }
        return error
    }
}
