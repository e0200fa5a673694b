import Foundation
import LatchkeyModel

/// Hands out a link that a person opens to connect a connection again (the connect flow), for answers that say the
/// connection needs a person.
public protocol ReconnectLinkSource: Sendable {
    /// A link for `connection` that `caller` may hand on, with its expiry; nil when there is none to give.
    func reconnectLink(for connection: Connection, caller: Caller) async -> (url: String, expiresAt: Date)?
}
