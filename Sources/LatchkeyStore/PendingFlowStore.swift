import Foundation
import LatchkeyModel

/// A connect link: who may be connected, to which provider, until when.
public struct ConnectSession: Sendable, Equatable {
    /// SHA-256 of the link's random token; the token itself is never stored.
    public var tokenHash: String
    public var provider: ProviderID
    public var owner: OwnerRef
    /// Set for a reconnect: the connection whose credential is replaced.
    public var connectionID: ConnectionID?
    /// The installed, not yet connected connection that the link was made for, if there was one: the link dies
    /// when that integration is removed.
    public var installID: ConnectionID?
    /// Extra scopes asked beyond the app's or manifest's defaults.
    public var extraScopes: [String]
    public var returnTo: String?
    /// Who created the link (an agent or admin), for the audit log.
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public init(
        tokenHash: String, provider: ProviderID, owner: OwnerRef, connectionID: ConnectionID?, installID: ConnectionID? = nil,
        extraScopes: [String], returnTo: String?, createdBy: String, createdAt: Date, expiresAt: Date, usedAt: Date? = nil
    ) {
        self.tokenHash = tokenHash
        self.provider = provider
        self.owner = owner
        self.connectionID = connectionID
        self.installID = installID
        self.extraScopes = extraScopes
        self.returnTo = returnTo
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}

/// An authorization request in flight, keyed by its `state`.
public struct AuthorizationState: Sendable, Equatable {
    /// SHA-256 of the `state` value sent to the provider.
    public var stateHash: String
    public var sessionTokenHash: String
    public var provider: ProviderID
    public var owner: OwnerRef
    /// The PKCE verifier, sealed under the owner's data key and bound to this state.
    public var sealedVerifier: [UInt8]?
    /// SHA-256 of the browser-binding nonce set as a cookie when the flow started.
    public var browserBindingHash: String
    /// The scopes asked in this request.
    public var scopes: [String]
    /// `connection_config` values the person gave.
    public var config: [String: String]
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        stateHash: String, sessionTokenHash: String, provider: ProviderID, owner: OwnerRef, sealedVerifier: [UInt8]?,
        browserBindingHash: String, scopes: [String], config: [String: String], createdAt: Date, expiresAt: Date
    ) {
        self.stateHash = stateHash
        self.sessionTokenHash = sessionTokenHash
        self.provider = provider
        self.owner = owner
        self.sealedVerifier = sealedVerifier
        self.browserBindingHash = browserBindingHash
        self.scopes = scopes
        self.config = config
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Connect sessions and authorization states. Both live in the database so that any replica can finish a flow.
///
/// Contract:
/// - `markSessionUsed` succeeds once per session: a second call returns false.
/// - `consumeState` removes and returns the state atomically: of concurrent callers, one gets it.
///   It returns expired states too, so the caller can tell "expired" from "unknown".
/// - `authorizationState` reads a state without spending it, so a callback can be checked (its browser binding)
///   before the state is used up.
public protocol PendingFlowStore: Sendable {
    func createSession(_ session: ConnectSession) async throws
    func session(tokenHash: String) async throws -> ConnectSession?
    func markSessionUsed(tokenHash: String, at: Date) async throws -> Bool
    func createState(_ state: AuthorizationState) async throws
    /// The state with this hash, left in place; nil when there is none.
    func authorizationState(hash: String) async throws -> AuthorizationState?
    func consumeState(hash: String) async throws -> AuthorizationState?
    /// Deletes states and sessions that expired before `before`, and sign-in states and links (``PersonStore``) too.
    /// Returns how many rows went.
    func purgeExpired(before: Date) async throws -> Int
}
