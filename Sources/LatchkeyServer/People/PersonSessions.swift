import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyStore

/// A signed-in person at `/me`: who, the session's CSRF token, and when it ends.
struct PersonSession: Sendable {
    let person: OwnerRef
    /// Sent in every form and compared in constant time; derived from the session id, never stored.
    let csrfToken: String
    let expiresAt: Date
}

/// People's sessions, in the store so that every replica knows them.
///
/// As for the dashboard, the store keeps only a SHA-256 of each session id; the CSRF token and the key of the message
/// left for the next page derive from the id itself (`SessionSecrets`). The cookie is `HttpOnly` and
/// `SameSite=Strict`, so no other site can make a signed-in person's browser act.
struct PersonSessions: Sendable {
    static let cookieName = "lk_person_session"
    let store: any PersonSessionStore
    /// How long a session lasts from sign-in.
    var lifetime: TimeInterval = 8 * 3600

    func start(person: OwnerRef, now: Date) async throws -> (id: String, session: PersonSession) {
        let id = RandomToken.base64URL(bytes: 32)
        let expiresAt = now.addingTimeInterval(lifetime)
        try await store.createPersonSession(idHash: SecretHash.sha256Hex(id), person: person, expiresAt: expiresAt, now: now)
        return (id, PersonSession(person: person, csrfToken: SessionSecrets(sessionID: id).csrfToken, expiresAt: expiresAt))
    }

    /// The live session with this id, or nil.
    func session(id: String, now: Date) async throws -> PersonSession? {
        guard let (person, expiresAt) = try await store.personSession(idHash: SecretHash.sha256Hex(id), now: now) else { return nil }
        return PersonSession(person: person, csrfToken: SessionSecrets(sessionID: id).csrfToken, expiresAt: expiresAt)
    }

    /// The signed-in person of a request, from its session cookie.
    func signedIn(_ request: Request, now: Date) async throws -> (id: String, session: PersonSession)? {
        guard let id = request.cookies[Self.cookieName]?.value, !id.isEmpty, let session = try await session(id: id, now: now) else { return nil }
        return (id, session)
    }

    func end(id: String) async throws { try await store.deletePersonSession(idHash: SecretHash.sha256Hex(id)) }

    /// Leaves a message for the next page of this session, sealed under a key only the session id yields.
    func setFlash(id: String, _ flash: AdminSession.Flash) async throws {
        try await store.setPersonSessionMessage(idHash: SecretHash.sha256Hex(id), sealed: try SessionFlash.seal(flash, sessionID: id))
    }

    /// The waiting message, removed.
    func takeFlash(id: String) async throws -> AdminSession.Flash? {
        SessionFlash.open(try await store.takePersonSessionMessage(idHash: SecretHash.sha256Hex(id)), sessionID: id)
    }

    /// The session cookie: sent to every Latchkey page of the same site (the connect pages need it too), never to
    /// scripts, never cross-site, and only over https when served so.
    static func cookie(_ value: String, maxAge: Int, secure: Bool) -> HTTPField {
        SetCookie.field(cookieName, value, path: "/", maxAge: maxAge, sameSite: .strict, secure: secure)
    }

    /// Whether a form's `csrf` is this session's token, compared in constant time.
    static func csrfMatches(_ form: [String: String], _ session: PersonSession) -> Bool {
        DashboardForm.csrfMatches(form, token: session.csrfToken)
    }
}
