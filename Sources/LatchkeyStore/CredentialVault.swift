import Foundation
import LatchkeyCrypto
import LatchkeyModel

/// Seals and opens secrets under each owner's data key (envelope encryption).
///
/// The data key of an owner is created on first use, wrapped by the master keyring's current version,
/// and stored through `DataKeyStore`. Each ciphertext is bound to its purpose, row, owner and provider.
/// The keyring is read from its holder on every use, so a rotation that adds or retires a version takes
/// effect at once.
public struct CredentialVault: Sendable {
    /// The master keys in force.
    public let keyring: MasterKeyringHolder
    let dataKeys: any DataKeyStore
    /// Recently unwrapped data keys.
    public let cache: DataKeyCache

    public init(keyring: MasterKeyringHolder, dataKeys: any DataKeyStore, cache: DataKeyCache = DataKeyCache()) {
        self.keyring = keyring
        self.dataKeys = dataKeys
        self.cache = cache
    }

    /// A vault whose keyring never changes (tests, tools).
    public init(keyring: MasterKeyring, dataKeys: any DataKeyStore, cache: DataKeyCache = DataKeyCache()) {
        self.init(keyring: MasterKeyringHolder(keyring), dataKeys: dataKeys, cache: cache)
    }

    /// The owner's data key, created when `create` is set and none exists yet.
    func dataKey(for owner: OwnerRef, create: Bool) async throws -> DataKey? {
        if let cached = cache.key(for: owner, now: Date()) { return cached }
        if let record = try await dataKeys.dataKey(for: owner) {
            let key = try keyring.current.unwrap(WrappedDataKey(keyVersion: record.keyVersion, ciphertext: record.ciphertext), for: owner)
            cache.remember(key, for: owner, now: Date())
            return key
        }
        guard create else { return nil }
        let fresh = DataKey.generate()
        let wrapped = try keyring.current.wrap(fresh, for: owner)
        let stored = try await dataKeys.insertDataKeyIfAbsent(
            WrappedDataKeyRecord(owner: owner, keyVersion: wrapped.keyVersion, ciphertext: wrapped.ciphertext))
        guard stored.ciphertext == wrapped.ciphertext else {
            // Another caller created the owner's key first: theirs is the one.
            let key = try keyring.current.unwrap(WrappedDataKey(keyVersion: stored.keyVersion, ciphertext: stored.ciphertext), for: owner)
            cache.remember(key, for: owner, now: Date())
            return key
        }
        // A rotation may have made a newer version current between our wrap and our insert, and may retire the
        // older one once nothing references it: wrap ours again under the version in force now.
        let ring = keyring.current
        if stored.keyVersion != ring.currentVersion {
            let again = try ring.wrap(fresh, for: owner)
            _ = try await dataKeys.replaceDataKeys([DataKeyReplacement(
                expected: stored, replacement: WrappedDataKeyRecord(owner: owner, keyVersion: again.keyVersion, ciphertext: again.ciphertext))])
        }
        cache.remember(fresh, for: owner, now: Date())
        return fresh
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
        guard let key = try await dataKey(for: binding.owner, create: true) else {
            throw LatchkeyError(.internalError, "no data key could be made for \(binding.owner)")
        }
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

    /// Opens a connection's credential. Fails with `decryption_failed`, naming the connection, when its owner has
    /// no data key, the data key's master-key version is not loaded, or the ciphertext does not authenticate under
    /// the connection's binding (altered, or moved from another row).
    public func openCredential(_ sealed: [UInt8], for connection: Connection) async throws -> Credential {
        let binding = Self.binding(connection)
        let key: DataKey?
        do {
            key = try await dataKey(for: connection.owner, create: false)
        } catch let error as LatchkeyError {
            throw LatchkeyError(error.code, "connection \(connection.id): \(error.message)")
        }
        guard let key else {
            throw LatchkeyError(.decryptionFailed, "connection \(connection.id): \(connection.owner) has no data key, so its credential cannot be read")
        }
        let bytes: [UInt8]
        do {
            bytes = try Sealer.open(sealed, with: key, binding: binding)
        } catch {
            throw LatchkeyError(
                .decryptionFailed,
                "connection \(connection.id): its credential failed the integrity check (AES-GCM authentication): it was altered "
                    + "or moved from another row; connect the account again")
        }
        return try JSONDecoder().decode(Credential.self, from: Data(bytes))
    }

    static func binding(_ c: Connection) -> SealBinding {
        SealBinding(purpose: "credential", rowID: c.id.rawValue, owner: c.owner, provider: c.provider)
    }
}
