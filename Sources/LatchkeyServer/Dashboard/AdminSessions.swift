import Foundation
import LatchkeyCrypto
import LatchkeyModel
import Synchronization

/// A signed-in dashboard session: its CSRF token, its expiry, and a message for the next page.
struct AdminSession: Sendable {
    /// Sent in every form and compared in constant time; random, per session.
    let csrfToken: String
    let expiresAt: Date
    /// Shown once, on the page after an action (POST/redirect/GET).
    var flash: Flash?

    struct Flash: Sendable {
        var message: String
        var isError: Bool
    }
}

/// The dashboard's sessions, in memory: signing in again after a restart is the price of keeping no session
/// state in the database. Only a SHA-256 of each session id is kept, so a memory dump cannot replay a cookie.
///
/// Contract: `start` returns a fresh random 256-bit id; `session` finds it until it expires or `end` is called.
final class AdminSessions: Sendable {
    private let sessions = Mutex<[String: AdminSession]>([:])
    /// How long a session lasts from sign-in.
    let lifetime: TimeInterval
    /// At most this many live sessions; the oldest is dropped past it.
    let capacity: Int

    init(lifetime: TimeInterval = 12 * 3600, capacity: Int = 1000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Starts a session; returns the id for the cookie and the session.
    func start(now: Date) -> (id: String, session: AdminSession) {
        let id = RandomToken.base64URL(bytes: 32)
        let session = AdminSession(csrfToken: RandomToken.base64URL(bytes: 32), expiresAt: now.addingTimeInterval(lifetime))
        sessions.withLock { all in
            all = all.filter { $0.value.expiresAt > now }
            if all.count >= capacity, let oldest = all.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key {
                all.removeValue(forKey: oldest)
            }
            all[SecretHash.sha256Hex(id)] = session
        }
        return (id, session)
    }

    /// The live session with this id, or nil.
    func session(id: String, now: Date) -> AdminSession? {
        let key = SecretHash.sha256Hex(id)
        return sessions.withLock { all in
            guard let session = all[key] else { return nil }
            guard session.expiresAt > now else {
                all.removeValue(forKey: key)
                return nil
            }
            return session
        }
    }

    /// Ends the session (sign-out).
    func end(id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: SecretHash.sha256Hex(id)) }
    }

    /// Leaves a message for the next page of this session.
    func setFlash(id: String, _ flash: AdminSession.Flash) {
        sessions.withLock { $0[SecretHash.sha256Hex(id)]?.flash = flash }
    }

    /// The waiting message, removed.
    func takeFlash(id: String) -> AdminSession.Flash? {
        sessions.withLock { all in
            let key = SecretHash.sha256Hex(id)
            defer { all[key]?.flash = nil }
            return all[key]?.flash
        }
    }
}
