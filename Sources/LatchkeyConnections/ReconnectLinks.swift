import Foundation
import LatchkeyModel
import Synchronization

/// The reconnect link last handed out per connection, so that an agent retrying a call on a connection that
/// needs a person does not mint a new connect session each time.
public final class ReconnectLinks: Sendable {
    private let links = Mutex<[ConnectionID: (url: String, expiresAt: Date)]>([:])
    /// A link is reused only while it has at least this long to live.
    let minimumLife: TimeInterval = 60

    public init() {}

    /// The link last handed out for `id`, while it has at least ``minimumLife`` to live.
    public func link(for id: ConnectionID, now: Date) -> (url: String, expiresAt: Date)? {
        links.withLock { map in
            guard let link = map[id] else { return nil }
            guard link.expiresAt.timeIntervalSince(now) >= minimumLife else {
                map.removeValue(forKey: id)
                return nil
            }
            return link
        }
    }

    /// Keeps `link` as the one to hand out for `id`.
    public func remember(_ link: (url: String, expiresAt: Date), for id: ConnectionID) {
        links.withLock { map in
            if map.count >= 10_000 { map.removeAll() }
            map[id] = link
        }
    }

    /// The connection was connected again: its link is spent.
    public func forget(_ id: ConnectionID) {
        _ = links.withLock { $0.removeValue(forKey: id) }
    }
}
