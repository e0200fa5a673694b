import Foundation
import LatchkeyModel

/// An OAuth app registration (client id and sealed secret), or an API base config, at one owner.
public struct AppRegistration: Sendable, Equatable {
    public var provider: ProviderID
    public var owner: OwnerRef
    public var clientID: String
    /// The client secret sealed under the owner's data key, bound to `app:{provider}`.
    public var sealedClientSecret: [UInt8]?
    /// Scopes to ask instead of the manifest's defaults; empty means the defaults.
    public var scopes: [String]
    public var updatedAt: Date

    public init(provider: ProviderID, owner: OwnerRef, clientID: String, sealedClientSecret: [UInt8]?, scopes: [String], updatedAt: Date) {
        self.provider = provider
        self.owner = owner
        self.clientID = clientID
        self.sealedClientSecret = sealedClientSecret
        self.scopes = scopes
        self.updatedAt = updatedAt
    }

    /// The row id sealed secrets of this app are bound to.
    public static func rowID(provider: ProviderID, owner: OwnerRef) -> String { "app:\(provider):\(owner)" }
}

/// App registrations. Contract: one per (provider, owner); `putApp` inserts or replaces it.
public protocol AppStore: Sendable {
    func putApp(_ app: AppRegistration) async throws
    /// The registrations of `provider` at any of `owners`.
    func apps(provider: ProviderID, owners: [OwnerRef]) async throws -> [AppRegistration]
    /// Every app registered at exactly `owner`.
    func allApps(owner: OwnerRef) async throws -> [AppRegistration]
    /// Every registration of `provider`, at any owner, oldest first (the dashboard's setup state).
    func apps(provider: ProviderID) async throws -> [AppRegistration]
}
