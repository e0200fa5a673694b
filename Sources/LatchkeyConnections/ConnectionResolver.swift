import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Picks the connection a call uses: along the agent's owner chain (own, project, team, org), the nearest
/// owner's default connection; or the one `Latchkey-Connection` names, if it lies on that chain; or a user's,
/// when `Latchkey-User` names a user of the agent's org. An admin must name the connection.
///
/// When the chain holds no connected connection of an API-key provider, an agent falls back to the platform's key if
/// its org's credential choice comes to `managed` (``CredentialChoices``); the platform's keys are never listed to it.
///
/// A connection outside the caller's reach is reported as not found, never as forbidden, so ids cannot be probed.
/// A person's connection is used only while that person allows the agent (or its project): otherwise
/// `consent_required`. The check is part of the cached resolution, so a withdrawal takes effect at once in the process
/// that made it (a connection write clears the cache) and within the cache's second everywhere else.
public final class ConnectionResolver: Sendable {
    let store: any ConnectionStore
    let cache: ConnectionCache
    let consents: ConsentGate
    /// Orgs' choices of managed or own credentials: where the platform's key comes in.
    let choices: CredentialChoices
    /// Which agents used which person's connection, audited at most once a minute per pair.
    let usage: ConnectionUsage
    let audit: AuditTrail
    let clock: any LatchkeyClock

    public init(
        store: any ConnectionStore, cache: ConnectionCache, consents: ConsentGate, choices: CredentialChoices, usage: ConnectionUsage,
        audit: AuditTrail, clock: any LatchkeyClock
    ) {
        self.store = store
        self.cache = cache
        self.consents = consents
        self.choices = choices
        self.usage = usage
        self.audit = audit
        self.clock = clock
    }

    /// The connection `caller` uses for `provider`: the one `connectionID` names, a user's when `user` is given, else the
    /// nearest default along the caller's owner chain.
    public func resolve(caller: Caller, provider: ProviderID, connectionID: String?, user: String?) async throws -> StoredConnection {
        let key = ConnectionCache.ResolutionKey(caller: caller.actorName, provider: provider, connection: connectionID, user: user)
        let stored = try await cache.resolution(key, resolvingUntil: {
            let stored = try await self.resolveFromStore(caller: caller, provider: provider, connectionID: connectionID, user: user)
            // A consent for a while ends the resolution with it: nothing is written when it runs out.
            guard case .agent(let agent, _, _) = caller else { return ConnectionCache.Resolved(stored: stored) }
            return ConnectionCache.Resolved(stored: stored, validUntil: try await self.consents.require(agent: agent, for: stored.connection))
        })
        if case .agent(let agent, _, _) = caller, stored.connection.owner.kind == .user,
            usage.shouldRecord(connection: stored.connection.id, agent: agent, now: clock.now)
        {
            await audit.record(AuditEvent(
                at: clock.now, actor: .owner(agent), action: .connectionUsed, owner: stored.connection.owner,
                provider: stored.connection.provider, connectionID: stored.connection.id))
        }
        return stored
    }

    private func resolveFromStore(caller: Caller, provider: ProviderID, connectionID: String?, user: String?) async throws -> StoredConnection {
        let notFound = LatchkeyError(.notFound, "no connection of \(provider) is available to this caller", field: "connection")
        let owners: [OwnerRef]?
        var org: String?
        switch caller {
        case .admin:
            guard connectionID != nil else {
                throw LatchkeyError(.invalidRequest, "Latchkey-Connection: an admin must name the connection to use", field: "Latchkey-Connection")
            }
            owners = nil
        case .agent(let agent, _, _):
            org = agent.org
            if let user {
                let userRef = try OwnerRef(kind: .user, path: user, field: "Latchkey-User")
                guard userRef.org == agent.org else { throw notFound }
                owners = [userRef]
            } else {
                owners = agent.inheritanceChain
            }
        case .person:
            throw notFound  // people act at /me, not through the agents' API
        }
        if let connectionID {
            guard let stored = try await store.connection(id: ConnectionID(rawValue: connectionID)),
                stored.connection.provider == provider, stored.connection.state != .revoked
            else { throw notFound }
            guard let owners else { return stored }
            if owners.contains(stored.connection.owner) { return stored }
            // The platform's key, named (as a held call names it when it runs), only while the org is on it.
            let asked = try await store.storedConnections(owners: owners, provider: provider).contains { Self.asksForManaged($0.connection) }
            guard stored.connection.owner.isPlatform, user == nil, let org,
                try await choices.managedKey(org: org, provider: provider, asked: asked) != nil
            else { throw notFound }
            return stored
        }
        guard let owners else { throw notFound }
        let candidates = try await store.storedConnections(owners: owners, provider: provider)
            .filter { $0.connection.state != .revoked }
        for owner in owners {
            let mine = candidates.filter { $0.connection.owner == owner && $0.connection.state != .installed }
            if let pick = mine.first(where: \.connection.isDefault) ?? mine.first { return pick }
            // An install that asked for managed credentials (where its org lets agents choose) takes the platform's
            // key at its place on the chain.
            if user == nil, let org, candidates.contains(where: { $0.connection.owner == owner && Self.asksForManaged($0.connection) }),
                let managed = try await choices.managedKey(org: org, provider: provider, asked: true)
            {
                return managed
            }
        }
        if user == nil, let org, let managed = try await choices.managedKey(org: org, provider: provider) { return managed }
        if candidates.contains(where: { $0.connection.state == .installed }) {
            throw LatchkeyError(.notConnected, "\(provider) is installed but not connected yet; create a connect link and have a person finish it")
        }
        throw notFound
    }

    /// An install not connected yet that recorded managed credentials.
    static func asksForManaged(_ connection: Connection) -> Bool {
        connection.state == .installed && connection.credentials == .managed
    }

    /// Refuses connections that cannot be used now: not yet connected, or waiting for a person to reconnect.
    public static func requireUsable(_ connection: Connection) throws(LatchkeyError) {
        switch connection.state {
        case .active, .error: return
        case .installed: throw LatchkeyError(.notConnected, "connection \(connection.id) is installed but not connected yet")
        case .needsReauth: throw LatchkeyError(.reauthRequired, "connection \(connection.id) needs a person to connect it again")
        case .revoked: throw LatchkeyError(.notFound, "connection \(connection.id) was revoked")
        }
    }
}
