import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Each org's choice, per provider, between the platform's credentials (`managed`) and its own (`own`), and what the
/// choice resolves to.
///
/// Without a choice the org uses its own when it has an app (OAuth) or a connection (API key) of the provider anywhere
/// under it, else the platform's when the platform offers one. An admin's choice replaces that default; `managed` is
/// accepted only while the platform offers the provider.
public struct CredentialChoices: Sendable {
    let store: any CredentialChoiceStore & AppStore & ConnectionStore
    /// Cleared by a choice, so the next call resolves with it (other replicas within the cache's second).
    let cache: ConnectionCache
    let audit: AuditTrail
    let clock: any LatchkeyClock

    public init(
        store: any CredentialChoiceStore & AppStore & ConnectionStore, cache: ConnectionCache, audit: AuditTrail, clock: any LatchkeyClock
    ) {
        self.store = store
        self.cache = cache
        self.audit = audit
        self.clock = clock
    }

    /// How a provider authenticates, as far as the choice is concerned.
    public enum CredentialKind: Sendable {
        /// OAuth: the choice picks the app a connect flow runs on; tokens stay per owner.
        case app
        /// API key or basic: the choice picks whose key a call sends.
        case key
        /// No credential at all: there is nothing to choose.
        case none
    }

    /// What an org uses for one provider, and why.
    public struct Resolution: Sendable, Equatable {
        public var org: String
        public var provider: ProviderID
        /// What calls and connect flows use.
        public var credentials: CredentialSource
        /// The admin's choice, or nil when `credentials` is the default.
        public var chosen: CredentialSource?
        /// Whether an agent of the org may name the other source when it installs the provider.
        public var agentsMayChoose: Bool
        /// Whether the platform has an app (OAuth) or a usable key (API key) of the provider.
        public var platformOffers: Bool
        /// Whether the org has its own app or connection of the provider anywhere under it.
        public var orgHasOwn: Bool
        public var updatedAt: Date?
    }

    /// What `org` uses for `provider`.
    public func resolution(org: String, provider: ProviderID, kind: CredentialKind) async throws -> Resolution {
        async let choice = store.credentialChoice(org: org, provider: provider)
        async let offers = platformOffers(provider, kind: kind)
        async let own = orgHasOwn(org, provider: provider, kind: kind)
        return Self.resolve(org: org, provider: provider, choice: try await choice, platformOffers: try await offers, orgHasOwn: try await own)
    }

    /// What each of `orgs` uses for `provider`, in the order given: the platform's offer and every org's own apps or
    /// keys read once, then each org's choice.
    public func resolutions(orgs: [String], provider: ProviderID, kind: CredentialKind) async throws -> [Resolution] {
        let offers = try await platformOffers(provider, kind: kind)
        let owning: Set<String>
        switch kind {
        case .none: owning = []
        case .app: owning = Set(try await store.apps(provider: provider).map(\.owner.org))
        case .key: owning = Set(try await store.allConnections(ownerPrefix: nil, provider: provider, state: nil).filter(Self.isUsable).map(\.owner.org))
        }
        var out: [Resolution] = []
        for org in orgs {
            let choice = try await store.credentialChoice(org: org, provider: provider)
            out.append(Self.resolve(org: org, provider: provider, choice: choice, platformOffers: offers, orgHasOwn: owning.contains(org)))
        }
        return out
    }

    /// The platform's key of `provider` that `org`'s agents fall back to: when the org's choice comes to `managed`, or
    /// when the caller's install `asked` for managed credentials (which `ConnectionService.install` let it only where
    /// the org allows).
    public func managedKey(org: String, provider: ProviderID, asked: Bool = false) async throws -> StoredConnection? {
        if !asked {
            guard try await resolution(org: org, provider: provider, kind: .key).credentials == .managed else { return nil }
        }
        let usable = try await store.storedConnections(owners: [.platform], provider: provider).filter { Self.isUsable($0.connection) }
        return usable.first(where: \.connection.isDefault) ?? usable.first
    }

    /// Records an admin's choice for `org` and audits it.
    public func choose(
        org: OwnerRef, provider: ProviderID, kind: CredentialKind, credentials: CredentialSource, agentsMayChoose: Bool, actor: AuditActor
    ) async throws -> Resolution {
        guard kind != .none else {
            throw LatchkeyError(.invalidRequest, "provider: \(provider) needs no credentials, so there is nothing to choose", field: "provider")
        }
        if credentials == .managed, try await !platformOffers(provider, kind: kind) {
            throw LatchkeyError(
                .invalidRequest,
                "credentials: the platform offers no managed \(kind == .app ? "app" : "key") of \(provider); register one with owner \"platform\" first",
                field: "credentials")
        }
        try await store.putCredentialChoice(CredentialChoice(
            org: org.org, provider: provider, credentials: credentials, agentsMayChoose: agentsMayChoose, updatedAt: clock.now))
        cache.clear()
        await audit.record(AuditEvent(
            at: clock.now, actor: actor, action: .orgCredentialsChosen, owner: org, provider: provider,
            detail: "\(credentials.rawValue)\(agentsMayChoose ? ", agents may choose" : "")"))
        return try await resolution(org: org.org, provider: provider, kind: kind)
    }

    static func resolve(org: String, provider: ProviderID, choice: CredentialChoice?, platformOffers: Bool, orgHasOwn: Bool) -> Resolution {
        let credentials = choice?.credentials ?? (orgHasOwn || !platformOffers ? .own : .managed)
        return Resolution(
            org: org, provider: provider, credentials: credentials, chosen: choice?.credentials,
            agentsMayChoose: choice?.agentsMayChoose ?? false, platformOffers: platformOffers, orgHasOwn: orgHasOwn,
            updatedAt: choice?.updatedAt)
    }

    private func platformOffers(_ provider: ProviderID, kind: CredentialKind) async throws -> Bool {
        switch kind {
        case .none: false
        case .app: try await !store.apps(provider: provider, owners: [.platform]).isEmpty
        case .key: try await store.connections(owners: [.platform], provider: provider).contains(where: Self.isUsable)
        }
    }

    private func orgHasOwn(_ org: String, provider: ProviderID, kind: CredentialKind) async throws -> Bool {
        let prefix = try OwnerRef(kind: .org, segments: [org], field: "org")
        switch kind {
        case .none: return false
        case .app: return try await store.apps(provider: provider).contains { $0.owner.org == org }
        case .key:
            return try await store.allConnections(ownerPrefix: prefix, provider: provider, state: nil).contains(where: Self.isUsable)
        }
    }

    private static func isUsable(_ connection: Connection) -> Bool {
        connection.state == .active || connection.state == .error
    }
}
