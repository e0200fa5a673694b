import Crypto
import Foundation
import LatchkeyModel

/// The master keys, by version. Each wraps owners' data keys; it never encrypts a credential directly.
///
/// A key-encryption key is derived from each master key with HKDF-SHA256, so the raw master key
/// material is used for nothing else.
public struct MasterKeyring: Sendable {
    /// The version new data keys are wrapped under.
    public let currentVersion: Int
    private let keys: [Int: SymmetricKey]

    /// Builds a keyring from raw 32-byte master keys by version. Throws when one is not 32 bytes.
    public init(masterKeys: [Int: [UInt8]], currentVersion: Int) throws(LatchkeyError) {
        guard masterKeys[currentVersion] != nil else {
            throw LatchkeyError(.invalidRequest, "master key version \(currentVersion) is missing", field: "master_key")
        }
        var keys: [Int: SymmetricKey] = [:]
        for (version, material) in masterKeys {
            guard material.count == 32 else {
                throw LatchkeyError(.invalidRequest, "master key version \(version) must be 32 bytes, got \(material.count)", field: "master_key")
            }
            keys[version] = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: material), salt: Data("latchkey".utf8),
                info: Data("latchkey key-encryption-key v1".utf8), outputByteCount: 32)
        }
        self.keys = keys
        self.currentVersion = currentVersion
    }

    /// The versions this keyring can unwrap.
    public var versions: [Int] { keys.keys.sorted() }

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
