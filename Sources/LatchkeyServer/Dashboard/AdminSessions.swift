import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyStore

/// A signed-in dashboard session: its CSRF token and its expiry.
struct AdminSession: Sendable {
    /// Sent in every form and compared in constant time; derived from the session id, never stored.
    let csrfToken: String
    let expiresAt: Date

    /// A message shown once, on the page after an action (POST/redirect/GET).
    struct Flash: Sendable, Codable, Equatable {
        var message: String
        var isError: Bool
    }
}

/// The dashboard's sessions, in the store so that every replica behind a load balancer knows them.
///
/// The store keeps a SHA-256 of each session id, its expiry and a sealed flash message; the CSRF token and the
/// flash's key are derived from the id itself (`SessionSecrets`), so a copy of the database can neither replay a
/// cookie, forge a form, nor read a connect link waiting in a flash.
///
/// Contract: `start` returns a fresh random 256-bit id; `session` finds it on any replica until it expires or `end`
/// is called on any replica.
struct AdminSessions: Sendable {
    let store: any AdminSessionStore
    /// How long a session lasts from sign-in.
    var lifetime: TimeInterval = 12 * 3600
    /// At most this many live sessions; signing in past it ends the ones closest to expiry.
    var capacity = 1000

    /// Starts a session; returns the id for the cookie and the session.
    func start(now: Date) async throws -> (id: String, session: AdminSession) {
        let id = RandomToken.base64URL(bytes: 32)
        let expiresAt = now.addingTimeInterval(lifetime)
        try await store.createAdminSession(idHash: SecretHash.sha256Hex(id), expiresAt: expiresAt, now: now, capacity: capacity)
        return (id, AdminSession(csrfToken: SessionSecrets(sessionID: id).csrfToken, expiresAt: expiresAt))
    }

    /// The live session with this id, or nil.
    func session(id: String, now: Date) async throws -> AdminSession? {
        guard let expiresAt = try await store.adminSessionExpiry(idHash: SecretHash.sha256Hex(id), now: now) else { return nil }
        return AdminSession(csrfToken: SessionSecrets(sessionID: id).csrfToken, expiresAt: expiresAt)
    }

    /// Ends the session (sign-out), on every replica.
    func end(id: String) async throws {
        try await store.deleteAdminSession(idHash: SecretHash.sha256Hex(id))
    }

    /// Leaves a message for the next page of this session, sealed under a key only the session id yields.
    func setFlash(id: String, _ flash: AdminSession.Flash) async throws {
        try await store.setAdminSessionMessage(idHash: SecretHash.sha256Hex(id), sealed: try SessionFlash.seal(flash, sessionID: id))
    }

    /// The waiting message, removed; nil when there is none or it does not open under this id.
    func takeFlash(id: String) async throws -> AdminSession.Flash? {
        SessionFlash.open(try await store.takeAdminSessionMessage(idHash: SecretHash.sha256Hex(id)), sessionID: id)
    }
}
