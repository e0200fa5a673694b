import Crypto
import Foundation
import LatchkeyModel

/// The master keys, by version. Each wraps owners' data keys; it never encrypts a credential directly.
///
/// A key-encryption key is derived from each master key with HKDF-SHA256, so the raw master key
/// material is used for nothing else. A keyring is a value: rotation builds a new one with
/// ``adding(version:material:)`` and retirement with ``removing(_:)``; ``MasterKeyringHolder`` holds the
/// one in force.
public struct MasterKeyring: Sendable {
    /// The version new data keys are wrapped under.
    public let currentVersion: Int
    private let keys: [Int: SymmetricKey]

    /// Builds a keyring from raw 32-byte master keys by version. Throws when one is not 32 bytes, a version is
    /// not positive, or `currentVersion` is missing.
    public init(masterKeys: [Int: [UInt8]], currentVersion: Int) throws(LatchkeyError) {
        guard masterKeys[currentVersion] != nil else {
            throw LatchkeyError(.invalidRequest, "master key version \(currentVersion) is missing", field: "master_key")
        }
        var keys: [Int: SymmetricKey] = [:]
        for (version, material) in masterKeys {
            keys[version] = try Self.keyEncryptionKey(version: version, material: material)
        }
        self.keys = keys
        self.currentVersion = currentVersion
    }

    /// Builds a keyring whose current version is the highest one given.
    public init(masterKeys: [Int: [UInt8]]) throws(LatchkeyError) {
        guard let highest = masterKeys.keys.max() else {
            throw LatchkeyError(.invalidRequest, "no master key is configured", field: "master_key")
        }
        try self.init(masterKeys: masterKeys, currentVersion: highest)
    }

    private init(keys: [Int: SymmetricKey], currentVersion: Int) {
        self.keys = keys
        self.currentVersion = currentVersion
    }

    /// The versions this keyring can unwrap.
    public var versions: [Int] { keys.keys.sorted() }

    /// Whether this keyring can unwrap data keys of `version`.
    public func contains(version: Int) -> Bool { keys[version] != nil }

    /// This keyring with one more version; it becomes current when it is the highest. Fails when the version
    /// is already loaded (a version's material never changes), not positive, or the material is not 32 bytes.
    public func adding(version: Int, material: [UInt8]) throws(LatchkeyError) -> MasterKeyring {
        guard keys[version] == nil else {
            throw LatchkeyError(.conflict, "master key version \(version) is already loaded", field: "master_key")
        }
        var keys = self.keys
        keys[version] = try Self.keyEncryptionKey(version: version, material: material)
        return MasterKeyring(keys: keys, currentVersion: max(currentVersion, version))
    }

    /// This keyring with one more version that does not become current (see ``withCurrent(_:)``). Fails as
    /// ``adding(version:material:)`` does.
    public func staging(version: Int, material: [UInt8]) throws(LatchkeyError) -> MasterKeyring {
        try adding(version: version, material: material).withCurrent(currentVersion)
    }

    /// This keyring without `versions`. The current version can never be removed.
    public func removing(_ versions: Set<Int>) throws(LatchkeyError) -> MasterKeyring {
        guard !versions.contains(currentVersion) else {
            throw LatchkeyError(.conflict, "master key version \(currentVersion) is current and cannot be retired", field: "master_key")
        }
        return MasterKeyring(keys: keys.filter { !versions.contains($0.key) }, currentVersion: currentVersion)
    }

    /// This keyring with `version` as the one new data keys are wrapped under. Several replicas agree on it
    /// through the database, so a version can be loaded (staged) before it becomes current. Fails when the
    /// version is not loaded.
    public func withCurrent(_ version: Int) throws(LatchkeyError) -> MasterKeyring {
        guard keys[version] != nil else {
            throw LatchkeyError(.decryptionFailed, "master key version \(version) is not loaded", field: "master_key")
        }
        return MasterKeyring(keys: keys, currentVersion: version)
    }

    /// A short public fingerprint of a version's key (16 hex digits), so replicas can tell whether they hold the
    /// same key under the same version without showing it: an HMAC of a fixed label under the key-encryption key.
    /// Nil when the version is not loaded.
    public func fingerprint(version: Int) -> String? {
        guard let kek = keys[version] else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("latchkey/master-key-fingerprint/v1".utf8), using: kek)
        return SecretHash.hex(Data(mac).prefix(8))
    }

    /// Unwraps a data key under its own version and wraps it again under the current one. The data key itself
    /// (and so every ciphertext sealed under it) stays the same.
    public func rewrap(_ wrapped: WrappedDataKey, for owner: OwnerRef) throws(LatchkeyError) -> WrappedDataKey {
        try wrap(try unwrap(wrapped, for: owner), for: owner)
    }

    static func keyEncryptionKey(version: Int, material: [UInt8]) throws(LatchkeyError) -> SymmetricKey {
        guard version >= 1 else {
            throw LatchkeyError(.invalidRequest, "master key version \(version) must be a positive whole number", field: "master_key")
        }
        guard material.count == 32 else {
            throw LatchkeyError(.invalidRequest, "master key version \(version) must be 32 bytes, got \(material.count)", field: "master_key")
        }
        return HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: material), salt: Data("latchkey".utf8),
            info: Data("latchkey key-encryption-key v1".utf8), outputByteCount: 32)
    }

    /// Wraps a data key for `owner` under the current version. The owner is bound as authenticated data.
    public func wrap(_ dataKey: DataKey, for owner: OwnerRef) throws(LatchkeyError) -> WrappedDataKey {
        let kek = keys[currentVersion]!
        do {
            let box = try AES.GCM.seal(dataKey.bytes, using: kek, authenticating: Self.aad(owner: owner, version: currentVersion))
            return WrappedDataKey(keyVersion: currentVersion, ciphertext: Array(box.combined!))
        } catch {
            throw LatchkeyError(.internalError, "could not wrap a data key")
        }
    }

    /// Unwraps a data key wrapped for `owner`. Fails when the version is unknown or the owner differs.
    public func unwrap(_ wrapped: WrappedDataKey, for owner: OwnerRef) throws(LatchkeyError) -> DataKey {
        guard let kek = keys[wrapped.keyVersion] else {
            throw LatchkeyError(.decryptionFailed, "master key version \(wrapped.keyVersion) is not loaded")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped.ciphertext)
            let bytes = try AES.GCM.open(box, using: kek, authenticating: Self.aad(owner: owner, version: wrapped.keyVersion))
            return DataKey(bytes: Array(bytes))
        } catch {
            throw LatchkeyError(.decryptionFailed, "the data key of \(owner) could not be unwrapped")
        }
    }

    static func aad(owner: OwnerRef, version: Int) -> Data {
        Data("latchkey/data-key/v1|\(owner)|\(version)".utf8)
    }
}

/// A per-owner AES-256 data key. Its bytes never leave this process unwrapped.
public struct DataKey: Sendable {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// A fresh random data key.
    public static func generate() -> DataKey {
        DataKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
}

/// A data key as stored: its master-key version and its AES-GCM ciphertext (nonce, ciphertext, tag).
public struct WrappedDataKey: Sendable, Equatable {
    public var keyVersion: Int
    public var ciphertext: [UInt8]
    public init(keyVersion: Int, ciphertext: [UInt8]) {
        self.keyVersion = keyVersion
        self.ciphertext = ciphertext
    }
}
