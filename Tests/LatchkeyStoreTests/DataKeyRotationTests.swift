import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyStore
import Testing

/// What master-key rotation needs from the store, and from the vault above it, run against every available engine.
@Suite("Data keys under master-key rotation")
struct DataKeyRotationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)


    func owner(_ n: Int) -> OwnerRef { try! OwnerRef(parsing: "org:o\(n)") }

    func record(_ n: Int, version: Int, bytes: [UInt8]? = nil) -> WrappedDataKeyRecord {
        WrappedDataKeyRecord(owner: owner(n), keyVersion: version, ciphertext: bytes ?? [UInt8(n), UInt8(version)])
    }

    @Test(arguments: StoreEngine.available) func dataKeysAreCountedPerMasterKeyVersion(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        #expect(try await store.dataKeyCounts().isEmpty)
        for n in 0..<5 { _ = try await store.insertDataKeyIfAbsent(record(n, version: 1)) }
        for n in 5..<7 { _ = try await store.insertDataKeyIfAbsent(record(n, version: 2)) }
        #expect(try await store.dataKeyCounts() == [1: 5, 2: 2])
    }

    @Test(arguments: StoreEngine.available) func keysNotAtAVersionComeOldestVersionFirstThenByOwnerUpToTheLimit(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        for (n, version) in [(3, 1), (1, 2), (2, 1), (4, 3), (0, 3)] { _ = try await store.insertDataKeyIfAbsent(record(n, version: version)) }
        let batch = try await store.dataKeys(notAtVersion: 3, limit: 2)
        #expect(batch == [record(2, version: 1), record(3, version: 1)])
        #expect(try await store.dataKeys(notAtVersion: 3, limit: 10).map(\.owner) == [owner(2), owner(3), owner(1)])
        #expect(try await store.dataKeys(notAtVersion: 1, limit: 10).map(\.keyVersion) == [2, 3, 3])
    }

    @Test(arguments: StoreEngine.available) func aReplacementIsWrittenOnlyWhileTheRowStillHoldsWhatWasRead(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        for n in 0..<3 { _ = try await store.insertDataKeyIfAbsent(record(n, version: 1)) }
        let read = try await store.dataKeys(notAtVersion: 2, limit: 10)
        // Meanwhile: owner 1's key is shredded and created again, owner 2's is shredded.
        _ = try await store.deleteDataKey(for: owner(1))
        _ = try await store.insertDataKeyIfAbsent(record(1, version: 1, bytes: [9, 9]))
        _ = try await store.deleteDataKey(for: owner(2))

        let replacements = read.map { DataKeyReplacement(expected: $0, replacement: WrappedDataKeyRecord(owner: $0.owner, keyVersion: 2, ciphertext: [7])) }
        #expect(try await store.replaceDataKeys(replacements) == 1)
        #expect(try await store.dataKey(for: owner(0)) == WrappedDataKeyRecord(owner: owner(0), keyVersion: 2, ciphertext: [7]))
        #expect(try await store.dataKey(for: owner(1)) == record(1, version: 1, bytes: [9, 9]))
        #expect(try await store.dataKey(for: owner(2)) == nil)
        // Applying the same replacements again changes nothing: the rows no longer hold what was read.
        #expect(try await store.replaceDataKeys(replacements) == 0)
        #expect(try await store.replaceDataKeys([]) == 0)
    }

    @Test(arguments: StoreEngine.available) func sealedCredentialsArePagedByConnectionID(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let org = owner(0)
        try await store.createOwner(org, at: now)
        var ids: [ConnectionID] = []
        for n in 0..<7 {
            let c = Connection(
                id: .random(), provider: "github", owner: org, state: .active, isDefault: n == 0, createdAt: now, updatedAt: now)
            try await store.insert(c, sealedCredential: n == 3 ? nil : [UInt8(n)])
            if n != 3 { ids.append(c.id) }
        }
        var seen: [ConnectionID] = []
        var after: ConnectionID?
        while true {
            let page = try await store.sealedConnections(after: after, limit: 4)
            guard let last = page.last else { break }
            #expect(page.allSatisfy { $0.sealedCredential != nil })
            seen += page.map(\.connection.id)
            after = last.connection.id
        }
        #expect(seen == ids.sorted { $0.rawValue < $1.rawValue })
    }

    @Test(arguments: StoreEngine.available) func everyCredentialStillOpensAfterItsDataKeyIsRewrappedAndTheOldVersionRetired(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let v1 = RandomToken.bytes(32)
        let holder = MasterKeyringHolder(try MasterKeyring(masterKeys: [1: v1]))
        // A cache that forgets at once, so every open goes through the stored, wrapped key.
        let vault = CredentialVault(keyring: holder, dataKeys: store, cache: DataKeyCache(ttl: 0))
        var sealed: [(Connection, [UInt8])] = []
        for n in 0..<4 {
            try await store.createOwner(owner(n), at: now)
            let c = Connection(id: .random(), provider: "github", owner: owner(n), state: .active, isDefault: true, createdAt: now, updatedAt: now)
            sealed.append((c, try await vault.sealCredential(Credential(apiKey: "key-\(n)"), for: c)))
        }

        let ring = try holder.update { ring throws(LatchkeyError) in try ring.adding(version: 2, material: RandomToken.bytes(32)) }
        let replacements = try await store.dataKeys(notAtVersion: 2, limit: 100).map { record in
            let wrapped = try ring.rewrap(WrappedDataKey(keyVersion: record.keyVersion, ciphertext: record.ciphertext), for: record.owner)
            return DataKeyReplacement(
                expected: record, replacement: WrappedDataKeyRecord(owner: record.owner, keyVersion: wrapped.keyVersion, ciphertext: wrapped.ciphertext))
        }
        #expect(try await store.replaceDataKeys(replacements) == 4)
        try holder.update { ring throws(LatchkeyError) in try ring.removing([1]) }

        #expect(try await store.dataKeyCounts() == [2: 4])
        for (n, (c, ciphertext)) in sealed.enumerated() {
            #expect(try await vault.openCredential(ciphertext, for: c) == Credential(apiKey: "key-\(n)"))
        }
    }

    @Test(arguments: StoreEngine.available) func aDataKeyWrappedUnderAVersionThatStoppedBeingCurrentIsWrappedAgain(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let holder = MasterKeyringHolder(try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)]))
        // The rotation lands between the vault's wrap (under version 1) and its insert, and retires version 1.
        let racing = RotatingOnInsert(store: store, holder: holder)
        let vault = CredentialVault(keyring: holder, dataKeys: racing, cache: DataKeyCache(ttl: 0))
        let org = owner(1)
        try await store.createOwner(org, at: now)
        let c = Connection(id: .random(), provider: "github", owner: org, state: .active, isDefault: true, createdAt: now, updatedAt: now)
        let sealed = try await vault.sealCredential(Credential(apiKey: "k"), for: c)

        #expect(try await store.dataKey(for: org)?.keyVersion == 2)
        #expect(try await vault.openCredential(sealed, for: c) == Credential(apiKey: "k"))
    }
}

/// A data-key store that, on the first insert, makes version 2 current and retires version 1 first: a rotation
/// racing a caller that still holds the older keyring.
final class RotatingOnInsert: DataKeyStore {
    let store: any DataKeyStore
    let holder: MasterKeyringHolder

    init(store: any DataKeyStore, holder: MasterKeyringHolder) {
        self.store = store
        self.holder = holder
    }

    func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        if holder.current.currentVersion == 1 {
            try holder.update { ring throws(LatchkeyError) in try ring.adding(version: 2, material: RandomToken.bytes(32)).removing([1]) }
        }
        return try await store.insertDataKeyIfAbsent(key)
    }

    func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? { try await store.dataKey(for: owner) }
    func deleteDataKey(for owner: OwnerRef) async throws -> Bool { try await store.deleteDataKey(for: owner) }
    func dataKeyCounts() async throws -> [Int: Int] { try await store.dataKeyCounts() }
    func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        try await store.dataKeys(notAtVersion: version, limit: limit)
    }
    func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int { try await store.replaceDataKeys(replacements) }
}
