import Foundation
import LatchkeyCrypto
import LatchkeyModel

/// Seals and opens secrets under each owner's data key (envelope encryption).
///
/// The data key of an owner is created on first use, wrapped by the master keyring's current version,
/// and stored through `DataKeyStore`. Each ciphertext is bound to its purpose, row, owner and provider.
public struct CredentialVault: Sendable {
    public let keyring: MasterKeyring
    let dataKeys: any DataKeyStore
    /// Recently unwrapped data keys.
    public let cache: DataKeyCache

    public init(keyring: MasterKeyring, dataKeys: any DataKeyStore, cache: DataKeyCache = DataKeyCache()) {
        self.keyring = keyring
        self.dataKeys = dataKeys
        self.cache = cache
    }

    /// The owner's data key, created when `create` is set and none exists yet.
    func dataKey(for owner: OwnerRef, create: Bool) async throws -> DataKey? {
        if let cached = cache.key(for: owner, now: Date()) { return cached }
        if let record = try await dataKeys.dataKey(for: owner) {
            let key = try keyring.unwrap(WrappedDataKey(keyVersion: record.keyVersion, ciphertext: record.ciphertext), for: owner)
            cache.remember(key, for: owner, now: Date())
            return key
        }
        guard create else { return nil }
        let fresh = DataKey.generate()
        let wrapped = try keyring.wrap(fresh, for: owner)
        let stored = try await dataKeys.insertDataKeyIfAbsent(
            WrappedDataKeyRecord(owner: owner, keyVersion: wrapped.keyVersion, ciphertext: wrapped.ciphertext))
        let key = try keyring.unwrap(WrappedDataKey(keyVersion: stored.keyVersion, ciphertext: stored.ciphertext), for: owner)
        cache.remember(key, for: owner, now: Date())
        return key
    }

    /// Destroys an owner's data key (crypto-shredding): every ciphertext sealed under it becomes unreadable,
    /// in this process at once, and in other replicas once their cached copy expires.
    public func destroyDataKey(for owner: OwnerRef) async throws -> Bool {
        let existed = try await dataKeys.deleteDataKey(for: owner)
        cache.forget(owner)
        return existed
    }

    /// Seals raw bytes for `binding.owner`.
    public func seal(_ plaintext: [UInt8], binding: SealBinding) async throws -> [UInt8] {
        let key = try await dataKey(for: binding.owner, create: true)!
        return try Sealer.seal(plaintext, with: key, binding: binding)
    }

    /// Opens bytes sealed for `binding`. Fails with `decryption_failed` when the owner has no key or the binding differs.
    public func open(_ sealed: [UInt8], binding: SealBinding) async throws -> [UInt8] {
        guard let key = try await dataKey(for: binding.owner, create: false) else {
            throw LatchkeyError(.decryptionFailed, "\(binding.owner) has no data key")
        }
        return try Sealer.open(sealed, with: key, binding: binding)
    }

    /// Seals a connection's credential, bound to the connection id, owner and provider.
    public func sealCredential(_ credential: Credential, for connection: Connection) async throws -> [UInt8] {
        try await seal(Array(try JSONEncoder().encode(credential)), binding: Self.binding(connection))
    }

    /// Opens a connection's credential.
    public func openCredential(_ sealed: [UInt8], for connection: Connection) async throws -> Credential {
        let bytes = try await open(sealed, binding: Self.binding(connection))
        return try JSONDecoder().decode(Credential.self, from: Data(bytes))
    }

    static func binding(_ c: Connection) -> SealBinding {
        SealBinding(purpose: "credential", rowID: c.id.rawValue, owner: c.owner, provider: c.provider)
    }
}
