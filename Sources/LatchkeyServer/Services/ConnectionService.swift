import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore

/// Installs, lists and saves connections, and decides who may see which.
struct ConnectionService: Sendable {
    let services: LatchkeyServices

    /// The owners whose connections `caller` may use: an agent's chain (own, project, team, org); a person's own.
    func visibleOwners(for caller: Caller) -> [OwnerRef]? {
        switch caller {
        case .admin: nil
        case .agent(let agent): agent.inheritanceChain
        case .person(let person): [person]
        }
    }

    /// Checks that `caller` may act for `owner`: admins for anyone, agents and people only for themselves.
    func authorize(_ caller: Caller, actFor owner: OwnerRef) throws(LatchkeyError) {
        switch caller {
        case .admin: return
        case .agent(let agent) where agent != owner:
            throw LatchkeyError(.forbidden, "owner: an agent may act only for itself (\(agent))", field: "owner")
        case .person(let person) where person != owner:
            throw LatchkeyError(.forbidden, "owner: a person may act only for themselves (\(person))", field: "owner")
        case .agent, .person: return
        }
    }

    func requireOwner(_ owner: OwnerRef) async throws {
        guard try await services.store.ownerExists(owner) else {
            throw LatchkeyError(.notFound, "owner: \(owner) does not exist", field: "owner")
        }
    }

    /// Installs `provider` for `owner`: a connection in state `installed` (or `active` for auth mode none).
    /// Installing again returns the existing not-yet-connected install.
    func install(provider: ProviderManifest, owner: OwnerRef, actor: Caller) async throws -> (Connection, created: Bool) {
        try await requireOwner(owner)
        let existing = try await services.store.connections(owners: [owner], provider: provider.id)
        if let pending = existing.first(where: { $0.state == .installed || (provider.auth == .none && $0.state == .active) }) {
            return (pending, false)
        }
        let now = services.clock.now
        let connection = Connection(
            id: .random(), provider: provider.id, owner: owner, state: provider.auth == .none ? .active : .installed,
            isDefault: !existing.contains { $0.isDefault }, createdAt: now, updatedAt: now)
        try await services.store.insert(connection, sealedCredential: nil)
        services.connectionCache.connectionWritten(connection.id)
        await services.audit(AuditEvent(
            at: now, actor: AuditActor(actor), action: .integrationInstalled, owner: owner, provider: provider.id,
            connectionID: connection.id))
        return (connection, true)
    }

    /// A connection `caller` may see, or `not_found` (never `forbidden`, so ids cannot be probed).
    func visibleConnection(_ id: String, caller: Caller) async throws -> StoredConnection {
        guard let stored = try await services.store.connection(id: ConnectionID(rawValue: id)) else {
            throw LatchkeyError(.notFound, "no connection '\(id.prefix(64))'", field: "id")
        }
        if let owners = visibleOwners(for: caller), !owners.contains(stored.connection.owner) {
            throw LatchkeyError(.notFound, "no connection '\(id.prefix(64))'", field: "id")
        }
        return stored
    }

    /// What a finished connect flow saves.
    struct Completion {
        var provider: ProviderID
        var owner: OwnerRef
        var reconnect: ConnectionID?
        var account: AccountIdentity?
        var credential: Credential
        var scopesRequested: [String]
        var scopesGranted: [String]
        var config: [String: String]
        var expiresAt: Date?
    }

    /// What a finished flow saved, and the stored connection it replaced (with the credential it held), if any.
    struct Completed {
        var connection: Connection
        var replaced: StoredConnection?
    }

    /// Saves a finished flow. The target is, in order: the connection being reconnected; the owner's connection
    /// of the same account; the owner's installed, not yet connected connection; else a new connection.
    /// The connection id stays the same on reconnect, and the credential is replaced.
    ///
    /// A revoked connection is never brought back (`session_revoked`), and a reconnect never changes the account a
    /// connection acts as (`account_mismatch`): the flow checks both before it spends its link, and this checks again
    /// at the write.
    func complete(_ c: Completion) async throws -> Completed {
        let now = services.clock.now
        let existing = try await services.store.storedConnections(owners: [c.owner], provider: c.provider)
        var target: StoredConnection?
        if let id = c.reconnect {
            guard let match = existing.first(where: { $0.connection.id == id }), match.connection.state != .revoked else {
                throw LatchkeyError(.sessionRevoked, "the connection this link reconnects was revoked or removed")
            }
            try AccountBinding.check(bound: match.connection.account, finished: c.account)
            target = match
        } else if let account = c.account,
            let match = existing.first(where: { $0.connection.account?.id == account.id && $0.connection.state != .revoked })
        {
            target = match
        } else {
            target = existing.first { $0.connection.state == .installed }
        }
        if let stored = target {
            var connection = stored.connection
            let expected = connection.version
            var lifecycle = ConnectionLifecycle(connection.state)
            connection.state = try lifecycle.apply(.connected)
            connection.account = c.account ?? connection.account
            connection.scopesRequested = c.scopesRequested
            connection.scopesGranted = c.scopesGranted
            connection.config = c.config
            connection.expiresAt = c.expiresAt
            connection.lastRefreshedAt = now
            connection.lastError = nil
            connection.updatedAt = now
            let sealed = try await services.vault.sealCredential(c.credential, for: connection)
            guard try await services.store.update(connection, sealedCredential: sealed, expectedVersion: expected) else {
                throw LatchkeyError(.conflict, "the connection changed while it was being connected; try again")
            }
            services.connectionCache.connectionWritten(connection.id)
            services.reconnectLinks.forget(connection.id)
            connection.version = expected + 1
            await services.webhooks.connected(connection)
            services.refresherWake.signal()
            return Completed(connection: connection, replaced: stored.sealedCredential == nil ? nil : stored)
        }
        let connection = Connection(
            id: .random(), provider: c.provider, owner: c.owner, state: .active, account: c.account,
            scopesRequested: c.scopesRequested, scopesGranted: c.scopesGranted, config: c.config, expiresAt: c.expiresAt,
            lastRefreshedAt: now, isDefault: !existing.contains { $0.connection.isDefault }, createdAt: now, updatedAt: now)
        let sealed = try await services.vault.sealCredential(c.credential, for: connection)
        try await services.store.insert(connection, sealedCredential: sealed)
        services.connectionCache.connectionWritten(connection.id)
        await services.webhooks.connected(connection)
        services.refresherWake.signal()
        return Completed(connection: connection, replaced: nil)
    }

    /// Removes a connection: the credential is destroyed and the state becomes `revoked`.
    /// Revocation at the provider is attempted first when the manifest names an endpoint.
    func remove(_ stored: StoredConnection, actor: Caller) async throws -> Connection {
        await revokeAtProvider(stored, actor: AuditActor(actor))
        var connection = stored.connection
        let expected = connection.version
        var lifecycle = ConnectionLifecycle(connection.state)
        if connection.state != .revoked { connection.state = try lifecycle.apply(.revoked) }
        connection.updatedAt = services.clock.now
        connection.isDefault = false
        guard try await services.store.update(connection, sealedCredential: nil, expectedVersion: expected) else {
            throw LatchkeyError(.conflict, "the connection changed while it was being removed; try again")
        }
        services.connectionCache.connectionWritten(connection.id)
        services.reconnectLinks.forget(connection.id)
        connection.version = expected + 1
        await services.audit(AuditEvent(
            at: services.clock.now, actor: AuditActor(actor), action: .integrationRemoved, owner: connection.owner,
            provider: connection.provider, connectionID: connection.id))
        await services.webhooks.revoked(from: stored.connection, to: connection)
        try await shredIfEmpty(connection.owner, actor: actor)
        return connection
    }

    /// Crypto-shredding: when an owner holds no credential, app secret or webhook secret any more, its data key is destroyed,
    /// so nothing sealed for it can ever be opened again.
    func shredIfEmpty(_ owner: OwnerRef, actor: Caller) async throws {
        let holding = try await services.store.storedConnections(owners: [owner], provider: nil)
            .contains { $0.sealedCredential != nil }
        guard !holding else { return }
        let apps = try await services.store.allApps(owner: owner)
        guard apps.allSatisfy({ $0.sealedClientSecret == nil }) else { return }
        if owner.kind == .org, try await services.store.webhook(org: owner.org) != nil { return }  // its signing secret
        if owner.kind == .org, try await services.store.signInProvider(org: owner.org)?.sealedClientSecret != nil { return }
        if try await services.vault.destroyDataKey(for: owner) {
            services.connectionCache.clear()
            await services.audit(AuditEvent(at: services.clock.now, actor: AuditActor(actor), action: .ownerDataKeyDestroyed, owner: owner))
        }
    }

    /// Revokes everything under `owner` (for a compromised agent): every connection of it and below it is revoked at
    /// the provider and destroyed, every agent key below it is revoked, and emptied owners are crypto-shredded.
    func revokeOwner(_ owner: OwnerRef, actor: Caller) async throws -> (connections: Int, agentKeys: Int) {
        // First, so that a connect link of this owner or below it that finishes while the rest runs is refused.
        try await services.store.markOwnerRevoked(owner, at: services.clock.now)
        let connections = try await services.store.allConnections(ownerPrefix: owner, provider: nil, state: nil)
            .filter { $0.state != .revoked }
        var revoked = 0
        for c in connections {
            guard let stored = try await services.store.connection(id: c.id) else { continue }
            _ = try await remove(stored, actor: actor)
            revoked += 1
        }
        var keys = 0
        if owner.kind == .agent {
            keys = try await services.store.revokeAgentKeys(agent: owner, at: services.clock.now)
        } else if owner.kind != .user {
            for agent in try await services.store.owners(kind: .agent, org: owner.org) where owner.encloses(agent) {
                keys += try await services.store.revokeAgentKeys(agent: agent, at: services.clock.now)
            }
        }
        services.agentKeys.clear()
        let sessions = try await services.store.endPersonSessions(under: owner)
        try await shredIfEmpty(owner, actor: actor)
        await services.audit(AuditEvent(
            at: services.clock.now, actor: AuditActor(actor), action: .ownerRevoked, owner: owner,
            detail: "\(revoked) connection(s), \(keys) key(s), \(sessions) person session(s)"))
        return (revoked, keys)
    }
}

extension ConnectionService {
    /// Revokes the refresh token and the access token at the provider (RFC 7009, with `token_type_hint`)
    /// when the manifest names an endpoint. Failures are audited; removal goes on regardless.
    func revokeAtProvider(_ stored: StoredConnection, actor: AuditActor, action: AuditAction = .connectionRevokedAtProvider) async {
        let c = stored.connection
        guard let sealed = stored.sealedCredential, services.catalog.manifests[c.provider]?.auth.oauth2?.revocationURL != nil else { return }
        let credential: Credential
        do { credential = try await services.vault.openCredential(sealed, for: c) } catch {
            await services.audit(AuditEvent(
                at: services.clock.now, actor: actor, action: action, owner: c.owner, provider: c.provider, connectionID: c.id,
                outcome: "failure", detail: (error as? LatchkeyError)?.code.rawValue ?? "internal_error"))
            return
        }
        await revokeGrant(
            credential, provider: c.provider, owner: c.owner, config: c.config, connectionID: c.id, actor: actor, action: action)
    }

    /// Revokes a grant's tokens at the provider (RFC 7009) when the manifest names an endpoint, and audits the outcome
    /// under `action`. Best effort: a failure is audited, never thrown.
    func revokeGrant(
        _ credential: Credential, provider: ProviderID, owner: OwnerRef, config: [String: String], connectionID: ConnectionID?,
        actor: AuditActor, action: AuditAction
    ) async {
        guard let spec = services.catalog.manifests[provider]?.auth.oauth2, spec.revocationURL != nil,
            credential.refreshToken != nil || credential.accessToken != nil
        else { return }
        do {
            guard let (_, app) = try await services.apps.resolve(provider: provider, for: owner) else { return }
            if let refresh = credential.refreshToken {
                try await services.oauth.revoke(spec: spec, app: app, token: refresh, hint: "refresh_token", values: config)
            }
            if let access = credential.accessToken {
                try await services.oauth.revoke(spec: spec, app: app, token: access, hint: "access_token", values: config)
            }
            await services.audit(AuditEvent(
                at: services.clock.now, actor: actor, action: action, owner: owner, provider: provider, connectionID: connectionID))
        } catch {
            let code = (error as? LatchkeyError)?.code.rawValue ?? "internal_error"
            await services.audit(AuditEvent(
                at: services.clock.now, actor: actor, action: action, owner: owner, provider: provider, connectionID: connectionID,
                outcome: "failure", detail: code))
        }
    }
}

/// The public shape of a connection in API answers. Never carries a credential.
struct ConnectionView: Encodable {
    // Every field is always present; an unknown value is `null`, as the contract lists them.
    let id: String
    let provider: String
    let owner: String
    let state: String
    @Nullable var account: String?
    @Nullable var account_id: String?
    let scopes: [String]
    let scopes_requested: [String]
    let config: [String: String]
    let is_default: Bool
    @Nullable var expires_at: Date?
    @Nullable var last_refreshed_at: Date?
    @Nullable var last_error: String?
    let created_at: Date

    init(_ c: Connection) {
        id = c.id.rawValue
        provider = c.provider.rawValue
        owner = c.owner.description
        state = c.state.rawValue
        account = c.account?.name ?? c.account?.id
        account_id = c.account?.id
        scopes = c.scopesGranted
        scopes_requested = c.scopesRequested
        config = c.config
        is_default = c.isDefault
        expires_at = c.expiresAt
        last_refreshed_at = c.lastRefreshedAt
        last_error = c.lastError
        created_at = c.createdAt
    }
}
