import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// OAuth app registrations: stores them with the client secret sealed, and finds the nearest one for an owner.
public struct AppDirectory: Sendable {
    let store: any AppStore
    let vault: CredentialVault
    let clock: any LatchkeyClock

    public init(store: any AppStore, vault: CredentialVault, clock: any LatchkeyClock) {
        self.store = store
        self.vault = vault
        self.clock = clock
    }

    /// Registers or rotates the app of `provider` at `owner`. The new secret takes effect on the next flow or refresh.
    public func put(provider: ProviderID, owner: OwnerRef, clientID: String, clientSecret: String?, scopes: [String]) async throws {
        let binding = SealBinding(
            purpose: "client_secret", rowID: AppRegistration.rowID(provider: provider, owner: owner), owner: owner, provider: provider)
        let sealed = try await clientSecret.asyncMap { try await vault.seal(Array($0.utf8), binding: binding) }
        try await store.putApp(AppRegistration(
            provider: provider, owner: owner, clientID: clientID, sealedClientSecret: sealed, scopes: scopes, updatedAt: clock.now))
    }

    /// The app nearest to `owner` along its inheritance chain (a user inherits from its org), with the secret opened;
    /// or, for `managed`, the platform's app.
    public func resolve(provider: ProviderID, for owner: OwnerRef, source: CredentialSource = .own) async throws
        -> (AppRegistration, AppCredentials)?
    {
        let chain =
            switch source {
            case .managed: [OwnerRef.platform]
            case .own: owner.kind == .user ? [owner, owner.parent!] : owner.inheritanceChain
            }
        let apps = try await store.apps(provider: provider, owners: chain)
        for candidate in chain {
            guard let app = apps.first(where: { $0.owner == candidate }) else { continue }
            var secret: String?
            if let sealed = app.sealedClientSecret {
                let binding = SealBinding(
                    purpose: "client_secret", rowID: AppRegistration.rowID(provider: provider, owner: app.owner), owner: app.owner,
                    provider: provider)
                secret = String(decoding: try await vault.open(sealed, binding: binding), as: UTF8.self)
            }
            return (app, AppCredentials(clientID: app.clientID, clientSecret: secret))
        }
        return nil
    }
}

extension Optional {
    public func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
