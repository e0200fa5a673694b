import Foundation
import LatchkeyModel

/// Per-owner data keys, wrapped by a master key.
///
/// Contract:
/// - `insertDataKeyIfAbsent` is atomic: when two callers race, both get the one stored key.
/// - `replaceDataKeys` is a compare-and-swap per owner, all in one transaction: a row is replaced only while it
///   still holds the expected version and ciphertext, so a key that was shredded or re-wrapped by someone else
///   meanwhile is left alone.
/// - `dataKeys(notAtVersion:limit:)` lists oldest versions first, then by owner, so a rotation that re-wraps
///   each batch sees the remaining keys without a cursor.
public protocol DataKeyStore: Sendable {
    func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord?
    /// Stores `key` unless the owner already has one; returns the stored key either way.
    func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord
    /// Destroys the owner's data key (crypto-shredding). Returns whether one existed.
    func deleteDataKey(for owner: OwnerRef) async throws -> Bool
    /// How many data keys each master-key version wraps; versions that wrap none are absent.
    func dataKeyCounts() async throws -> [Int: Int]
    /// At most `limit` data keys wrapped under any version but `version`, ordered by version, then owner.
    func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord]
    /// Applies each replacement whose row is still as expected, in one transaction. Returns how many were applied.
    func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int
}

/// A stored, wrapped data key.
public struct WrappedDataKeyRecord: Sendable, Equatable {
    public var owner: OwnerRef
    public var keyVersion: Int
    public var ciphertext: [UInt8]
    public init(owner: OwnerRef, keyVersion: Int, ciphertext: [UInt8]) {
        self.owner = owner
        self.keyVersion = keyVersion
        self.ciphertext = ciphertext
    }
}

/// One owner's data key, wrapped anew: written only while the row still holds `expected`.
public struct DataKeyReplacement: Sendable, Equatable {
    /// The row as it was read (owner, version, ciphertext).
    public var expected: WrappedDataKeyRecord
    /// The same data key wrapped under another version.
    public var replacement: WrappedDataKeyRecord
    public init(expected: WrappedDataKeyRecord, replacement: WrappedDataKeyRecord) {
        precondition(expected.owner == replacement.owner, "a replacement keeps the owner")
        self.expected = expected
        self.replacement = replacement
    }
}
