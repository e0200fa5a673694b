import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: AppStore {
    public func putApp(_ app: AppRegistration) async throws {
        locked { $0.apps[app.provider, default: [:]][app.owner] = app }
    }

    /// The registrations of `provider` at any of `owners`, by owner.
    public func apps(provider: ProviderID, owners: [OwnerRef]) async throws -> [AppRegistration] {
        locked { state in
            let registered = state.apps[provider] ?? [:]
            return Set(owners).compactMap { registered[$0] }.sorted { ByteOrder($0.owner.description) < ByteOrder($1.owner.description) }
        }
    }

    /// Every app registered at exactly `owner`, by provider.
    public func allApps(owner: OwnerRef) async throws -> [AppRegistration] {
        locked { state in
            state.apps.values.compactMap { $0[owner] }.sorted { ByteOrder($0.provider.rawValue) < ByteOrder($1.provider.rawValue) }
        }
    }

    public func apps(provider: ProviderID) async throws -> [AppRegistration] {
        locked { state in
            (state.apps[provider] ?? [:]).values
                .sorted { ($0.updatedAt, ByteOrder($0.owner.description)) < ($1.updatedAt, ByteOrder($1.owner.description)) }
        }
    }
}
