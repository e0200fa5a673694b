import Foundation
import LatchkeyConnections
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// A person's say over their own connections: an agent uses a `user:` connection only while that person has granted
/// it (or its project) use of that connection. An admin can revoke a person's connection but never consent in the
/// person's name: every grant here comes from the person's own signed-in session.
struct Consents: Sendable {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let connectionCache: ConnectionCache
    let consentGate: ConsentGate

    /// The page where the person sees which agent asks for which connection, and approves or declines.
    func consentURL(agent: OwnerRef, connection: ConnectionID) -> String { consentGate.consentURL(agent: agent, connection: connection) }

    /// What `grantee` may be: an agent or a project of the person's org that exists.
    func checkGrantee(_ raw: String, person: OwnerRef) async throws -> OwnerRef {
        let grantee = try OwnerRef(parsing: raw, field: "grantee").refusingPlatform(field: "grantee")
        guard grantee.kind == .agent || grantee.kind == .project else {
            throw LatchkeyError(.invalidRequest, "grantee: must be an agent or a project, not \(grantee.kind.rawValue)", field: "grantee")
        }
        guard grantee.org == person.org, try await store.ownerExists(grantee) else {
            throw LatchkeyError(.notFound, "grantee: \(grantee) does not exist in \(person.org)", field: "grantee")
        }
        return grantee
    }

    /// One of the person's own connections (not revoked), or `not_found`.
    func ownConnection(_ id: String, person: OwnerRef) async throws -> Connection {
        guard let stored = try await store.connection(id: ConnectionID(rawValue: id)), stored.connection.owner == person,
            stored.connection.state != .revoked
        else { throw LatchkeyError(.notFound, "connection: you have no connection '\(id.prefix(64))'", field: "connection") }
        return stored.connection
    }

    /// The person grants `grantee` use of their connection, until `expiresAt` or until withdrawn.
    func grant(person: OwnerRef, connection: Connection, grantee: OwnerRef, expiresAt: Date?) async throws {
        let now = clock.now
        try await store.grantConsent(Consent(
            connectionID: connection.id, grantee: grantee, person: person, grantedAt: now, expiresAt: expiresAt))
        connectionCache.connectionWritten(connection.id)
        await audit.record(AuditEvent(
            at: now, actor: .owner(person), action: .consentGranted, owner: person, provider: connection.provider,
            connectionID: connection.id, detail: "\(grantee)" + (expiresAt.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? "")))
    }

    /// The person withdraws a grant. It takes effect on the next call here at once (the resolution cache is cleared),
    /// and on other replicas within their one-second resolution cache.
    func withdraw(person: OwnerRef, connection: ConnectionID, grantee: OwnerRef) async throws {
        let stored = try await store.connection(id: connection)
        guard let stored, stored.connection.owner == person else {
            throw LatchkeyError(.notFound, "connection: you have no connection '\(connection.rawValue.prefix(64))'", field: "connection")
        }
        let removed = try await store.withdrawConsent(connectionID: connection, grantee: grantee)
        connectionCache.connectionWritten(connection)
        if removed {
            await audit.record(AuditEvent(
                at: clock.now, actor: .owner(person), action: .consentWithdrawn, owner: person,
                provider: stored.connection.provider, connectionID: connection, detail: grantee.description))
        }
    }

    /// The person declines an agent's request.
    func decline(person: OwnerRef, connection: Connection, grantee: OwnerRef) async {
        await audit.record(AuditEvent(
            at: clock.now, actor: .owner(person), action: .consentRefused, owner: person, provider: connection.provider,
            connectionID: connection.id, outcome: "failure", detail: grantee.description))
    }
}
