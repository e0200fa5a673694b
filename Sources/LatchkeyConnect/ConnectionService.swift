import Foundation
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyWebhooks

/// What `ConnectionService` reads and writes: owners, apps, connections, connect links, webhooks and people's sessions.
public typealias ConnectionStorage = IdentityStore & AppStore & ConnectionStore & PendingFlowStore & WebhookStore & PersonStore
    & PersonSessionStore

/// Installs, lists, saves and removes connections, and decides who may see which.
public struct ConnectionService: Sendable {
    let store: any ConnectionStorage
    let vault: CredentialVault
    let catalog: ProviderCatalog
    let oauth: OAuthClient
    /// The provider's settings and Latchkey's client there, for flows and revocations.
    let setups: OAuthSetups
    /// Orgs' choices of managed or own credentials: which app a new connect flow runs on.
    let choices: CredentialChoices
    let audit: AuditTrail
    let webhooks: WebhookEvents
    let caches: Caches
    let clock: any LatchkeyClock

    /// The caches and signals of this process that a written connection invalidates or wakes.
    public struct Caches: Sendable {
        /// Recent resolutions and opened credentials.
        public var connections: ConnectionCache
        /// Reconnect links handed out in 424 answers.
        public var reconnectLinks: ReconnectLinks
        /// Agent keys recently found valid.
        public var agentKeys: AgentKeyCache
        /// Wakes the background refresher (a connection was just connected).
        public var refresherWake: WakeSignal

        public init(connections: ConnectionCache, reconnectLinks: ReconnectLinks, agentKeys: AgentKeyCache, refresherWake: WakeSignal) {
            self.connections = connections
            self.reconnectLinks = reconnectLinks
            self.agentKeys = agentKeys
            self.refresherWake = refresherWake
        }
    }

    public init(
        store: any ConnectionStorage, vault: CredentialVault, catalog: ProviderCatalog, oauth: OAuthClient, setups: OAuthSetups,
        choices: CredentialChoices, audit: AuditTrail, webhooks: WebhookEvents, caches: Caches, clock: any LatchkeyClock
    ) {
        self.store = store
        self.vault = vault
        self.catalog = catalog
        self.oauth = oauth
        self.setups = setups
        self.choices = choices
        self.audit = audit
        self.webhooks = webhooks
        self.caches = caches
        self.clock = clock
    }

    /// The owners whose connections `caller` may use: an agent's chain (own, project, team, org); a person's own.
    public func visibleOwners(for caller: Caller) -> [OwnerRef]? {
        switch caller {
        case .admin: nil
        case .agent(let agent, _, _): agent.inheritanceChain
        case .person(let person): [person]
        }
    }

    /// The credentials an install records: `asked` when the org allows it, else the org's choice.
    private func installSource(_ provider: ProviderManifest, org: String, asked: CredentialSource?, actor: Caller) async throws -> CredentialSource {
        let kind = provider.credentialKind
        guard kind != .none else {
            if asked != nil {
                throw LatchkeyError(.invalidRequest, "credentials: \(provider.id) needs no credentials", field: "credentials")
            }
            return .own
        }
        let resolution = try await choices.resolution(org: org, provider: provider.id, kind: kind)
        guard let asked, asked != resolution.credentials else { return resolution.credentials }
        guard resolution.agentsMayChoose || actor == .admin else {
            throw LatchkeyError(
                .forbidden,
                "credentials: org \(org) uses \(resolution.credentials.rawValue) credentials for \(provider.id); an admin decides whether its agents may choose",
                field: "credentials")
        }
        if asked == .managed, !resolution.platformOffers {
            throw LatchkeyError(.invalidRequest, "credentials: the platform offers no managed credentials of \(provider.id)", field: "credentials")
        }
        return asked
    }

    /// The setup a connect flow of `provider` for `owner` runs on: the app its install recorded when the link completes
    /// an install, else the org's choice (a reconnect included); the platform's for `managed`, else the nearest on the
    /// owner's chain. The flow's start and its callback each ask, so a choice changed in between fails that one flow
    /// at the code exchange. Only the start (`registering`) may register a client with a remote MCP server.
    public func flowSetup(provider: ProviderManifest, owner: OwnerRef, install: ConnectionID? = nil, registering: Bool = false) async throws
        -> (source: CredentialSource, setup: OAuthSetup)?
    {
        let found = try await install.asyncMap { try await store.connection(id: $0)?.connection }
        let source: CredentialSource
        if let installed = found ?? nil, installed.state == .installed {
            source = installed.credentials
        } else {
            source = try await choices.resolution(org: owner.org, provider: provider.id, kind: .app).credentials
        }
        guard let setup = try await setups.setup(for: provider, owner: owner, source: source, registering: registering) else { return nil }
        return (source, setup)
    }

    /// Checks that `caller` may act for `owner`: admins for anyone, agents and people only for themselves.
    public func authorize(_ caller: Caller, actFor owner: OwnerRef) throws(LatchkeyError) {
        switch caller {
        case .admin: return
        case .agent(let agent, _, _) where agent != owner:
            throw LatchkeyError(.forbidden, "owner: an agent may act only for itself (\(agent))", field: "owner")
        case .person(let person) where person != owner:
            throw LatchkeyError(.forbidden, "owner: a person may act only for themselves (\(person))", field: "owner")
        case .agent, .person: return
        }
    }

    public func requireOwner(_ owner: OwnerRef) async throws {
        guard try await store.ownerExists(owner) else {
            throw LatchkeyError(.notFound, "owner: \(owner) does not exist", field: "owner")
        }
    }

    /// Installs `provider` for `owner`: a connection in state `installed` (or `active` for auth mode none).
    /// Installing again returns the existing not-yet-connected install.
    ///
    /// The install records the credentials its connect flow will use: `credentials` when asked (an agent may ask for
    /// other than its org's choice only where an admin lets the org's agents choose), else the org's choice.
    public func install(
        provider: ProviderManifest, owner: OwnerRef, actor: Caller, credentials asked: CredentialSource? = nil
    ) async throws -> (Connection, created: Bool) {
        _ = try owner.refusingPlatform()
        try await requireOwner(owner)
        let source = try await installSource(provider, org: owner.org, asked: asked, actor: actor)
        let existing = try await store.connections(owners: [owner], provider: provider.id)
        if var pending = existing.first(where: { $0.state == .installed || (provider.auth == .none && $0.state == .active) }) {
            guard pending.state == .installed, pending.credentials != source else { return (pending, false) }
            let expected = pending.version
            pending.credentials = source
            pending.updatedAt = clock.now
            guard try await store.update(pending, sealedCredential: nil, expectedVersion: expected) else {
                throw LatchkeyError(.conflict, "the install changed while it was being updated; try again")
            }
            caches.connections.connectionWritten(pending.id)
            pending.version = expected + 1
            return (pending, false)
        }
        let now = clock.now
        let connection = Connection(
            id: .random(), provider: provider.id, owner: owner, state: provider.auth == .none ? .active : .installed,
            isDefault: !existing.contains { $0.isDefault }, createdAt: now, updatedAt: now, credentials: source)
        try await store.insert(connection, sealedCredential: nil)
        caches.connections.connectionWritten(connection.id)
        await audit.record(AuditEvent(
            at: now, actor: AuditActor(actor), action: .integrationInstalled, owner: owner, provider: provider.id,
            connectionID: connection.id))
        return (connection, true)
    }

    /// A connection `caller` may see, or `not_found` (never `forbidden`, so ids cannot be probed).
    public func visibleConnection(_ id: String, caller: Caller) async throws -> StoredConnection {
        guard let stored = try await store.connection(id: ConnectionID(rawValue: id)) else {
            throw LatchkeyError(.notFound, "no connection '\(id.prefix(64))'", field: "id")
        }
        if let owners = visibleOwners(for: caller), !owners.contains(stored.connection.owner) {
            throw LatchkeyError(.notFound, "no connection '\(id.prefix(64))'", field: "id")
        }
        return stored
    }

    /// What a finished connect flow saves.
    public struct Completion: Sendable {
        var provider: ProviderID
        var owner: OwnerRef
        var reconnect: ConnectionID?
        var account: AccountIdentity?
        var credential: Credential
        var scopesRequested: [String]
        var scopesGranted: [String]
        var config: [String: String]
        var expiresAt: Date?
        /// Whose app issued the tokens (`own` for a typed key).
        var credentials: CredentialSource

        public init(
            provider: ProviderID, owner: OwnerRef, reconnect: ConnectionID?, account: AccountIdentity?, credential: Credential,
            scopesRequested: [String], scopesGranted: [String], config: [String: String], expiresAt: Date?, credentials: CredentialSource = .own
        ) {
            self.credentials = credentials
            self.provider = provider
            self.owner = owner
            self.reconnect = reconnect
            self.account = account
            self.credential = credential
            self.scopesRequested = scopesRequested
            self.scopesGranted = scopesGranted
            self.config = config
            self.expiresAt = expiresAt
        }
    }

    /// What a finished flow saved, and the stored connection it replaced (with the credential it held), if any.
    public struct Completed: Sendable {
        public var connection: Connection
        public var replaced: StoredConnection?
    }

    /// Saves a finished flow. The target is, in order: the connection being reconnected; the owner's connection
    /// of the same account; the owner's installed, not yet connected connection; else a new connection.
    /// The connection id stays the same on reconnect, and the credential is replaced.
    ///
    /// A revoked connection is never brought back (`session_revoked`), and a reconnect never changes the account a
    /// connection acts as (`account_mismatch`): the flow checks both before it spends its link, and this checks again
    /// at the write.
    public func complete(_ c: Completion) async throws -> Completed {
        let now = clock.now
        let existing = try await store.storedConnections(owners: [c.owner], provider: c.provider)
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
            connection.credentials = c.credentials
            let sealed = try await vault.sealCredential(c.credential, for: connection)
            guard try await store.update(connection, sealedCredential: sealed, expectedVersion: expected) else {
                throw LatchkeyError(.conflict, "the connection changed while it was being connected; try again")
            }
            caches.connections.connectionWritten(connection.id)
            caches.reconnectLinks.forget(connection.id)
            connection.version = expected + 1
            await webhooks.connected(connection)
            caches.refresherWake.signal()
            return Completed(connection: connection, replaced: stored.sealedCredential == nil ? nil : stored)
        }
        let connection = Connection(
            id: .random(), provider: c.provider, owner: c.owner, state: .active, account: c.account,
            scopesRequested: c.scopesRequested, scopesGranted: c.scopesGranted, config: c.config, expiresAt: c.expiresAt,
            lastRefreshedAt: now, isDefault: !existing.contains { $0.connection.isDefault }, createdAt: now, updatedAt: now,
            credentials: c.credentials)
        let sealed = try await vault.sealCredential(c.credential, for: connection)
        try await store.insert(connection, sealedCredential: sealed)
        caches.connections.connectionWritten(connection.id)
        await webhooks.connected(connection)
        caches.refresherWake.signal()
        return Completed(connection: connection, replaced: nil)
    }

    /// Removes a connection: the credential is destroyed and the state becomes `revoked`.
    /// Revocation at the provider is attempted first when the manifest names an endpoint.
    public func remove(_ stored: StoredConnection, actor: Caller) async throws -> Connection {
        await revokeAtProvider(stored, actor: AuditActor(actor))
        var connection = stored.connection
        let expected = connection.version
        var lifecycle = ConnectionLifecycle(connection.state)
        if connection.state != .revoked { connection.state = try lifecycle.apply(.revoked) }
        connection.updatedAt = clock.now
        connection.isDefault = false
        guard try await store.update(connection, sealedCredential: nil, expectedVersion: expected) else {
            throw LatchkeyError(.conflict, "the connection changed while it was being removed; try again")
        }
        caches.connections.connectionWritten(connection.id)
        caches.reconnectLinks.forget(connection.id)
        connection.version = expected + 1
        await audit.record(AuditEvent(
            at: clock.now, actor: AuditActor(actor), action: .integrationRemoved, owner: connection.owner,
            provider: connection.provider, connectionID: connection.id))
        await webhooks.revoked(from: stored.connection, to: connection)
        try await shredIfEmpty(connection.owner, actor: actor)
        return connection
    }

    /// Crypto-shredding: when an owner holds no credential, app secret or webhook secret any more, its data key is destroyed,
    /// so nothing sealed for it can ever be opened again.
    public func shredIfEmpty(_ owner: OwnerRef, actor: Caller) async throws {
        let holding = try await store.storedConnections(owners: [owner], provider: nil)
            .contains { $0.sealedCredential != nil }
        guard !holding else { return }
        let apps = try await store.allApps(owner: owner)
        guard apps.allSatisfy({ $0.sealedClientSecret == nil }) else { return }
        if owner.kind == .org, try await store.webhook(org: owner.org) != nil { return }  // its signing secret
        if owner.kind == .org, try await store.signInProvider(org: owner.org)?.sealedClientSecret != nil { return }
        if try await vault.destroyDataKey(for: owner) {
            caches.connections.clear()
            await audit.record(AuditEvent(at: clock.now, actor: AuditActor(actor), action: .ownerDataKeyDestroyed, owner: owner))
        }
    }

    /// Revokes everything under `owner` (for a compromised agent): every connection of it and below it is revoked at
    /// the provider and destroyed, every agent key below it is revoked, and emptied owners are crypto-shredded.
    public func revokeOwner(_ owner: OwnerRef, actor: Caller) async throws -> (connections: Int, agentKeys: Int) {
        // First, so that a connect link of this owner or below it that finishes while the rest runs is refused.
        try await store.markOwnerRevoked(owner, at: clock.now)
        let connections = try await store.allConnections(ownerPrefix: owner, provider: nil, state: nil)
            .filter { $0.state != .revoked }
        var revoked = 0
        for c in connections {
            guard let stored = try await store.connection(id: c.id) else { continue }
            _ = try await remove(stored, actor: actor)
            revoked += 1
        }
        var keys = 0
        if owner.kind == .agent {
            keys = try await store.revokeAgentKeys(agent: owner, at: clock.now)
        } else if owner.kind != .user {
            for agent in try await store.owners(kind: .agent, org: owner.org) where owner.encloses(agent) {
                keys += try await store.revokeAgentKeys(agent: agent, at: clock.now)
            }
        }
        caches.agentKeys.clear()
        let sessions = try await store.endPersonSessions(under: owner)
        try await shredIfEmpty(owner, actor: actor)
        await audit.record(AuditEvent(
            at: clock.now, actor: AuditActor(actor), action: .ownerRevoked, owner: owner,
            detail: "\(revoked) connection(s), \(keys) key(s), \(sessions) person session(s)"))
        return (revoked, keys)
    }
}
