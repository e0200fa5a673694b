import Foundation
import LatchkeyCrypto
import LatchkeyModel
import Testing

/// A keyring gains and loses versions during rotation; a data key keeps its bytes when it is re-wrapped.
@Suite("Keyring versions")
struct KeyringVersionTests {
    let owner = try! OwnerRef(parsing: "agent:acme/growth/crm/scout")

    @Test func aNewHigherVersionBecomesCurrentAndOlderOnesStillUnwrap() throws {
        let v1 = try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)])
        let old = try v1.wrap(DataKey.generate(), for: owner)
        let v2 = try v1.adding(version: 2, material: RandomToken.bytes(32))
        #expect(v2.currentVersion == 2 && v2.versions == [1, 2])
        _ = try v2.unwrap(old, for: owner)
        #expect(throws: LatchkeyError.self) { try v2.adding(version: 2, material: RandomToken.bytes(32)) }
        #expect(throws: LatchkeyError.self) { try v2.adding(version: 3, material: [1, 2]) }
    }

    @Test func aRewrappedDataKeyIsTheSameKeyUnderTheCurrentVersion() throws {
        let ring = try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)])
        let key = DataKey.generate()
        let binding = SealBinding(purpose: "credential", rowID: "conn_1", owner: owner, provider: "github")
        let sealed = try Sealer.seal([1, 2, 3], with: key, binding: binding)
        let rotated = try ring.adding(version: 2, material: RandomToken.bytes(32))
        let rewrapped = try rotated.rewrap(try ring.wrap(key, for: owner), for: owner)
        #expect(rewrapped.keyVersion == 2)
        let retired = try rotated.removing([1])
        #expect(retired.versions == [2])
        #expect(try Sealer.open(sealed, with: try retired.unwrap(rewrapped, for: owner), binding: binding) == [1, 2, 3])
    }

    @Test func aRetiredVersionNoLongerUnwrapsAndTheCurrentOneCannotBeRetired() throws {
        let v1 = RandomToken.bytes(32)
        let ring = try MasterKeyring(masterKeys: [1: v1, 2: RandomToken.bytes(32)])
        let wrappedUnder1 = try MasterKeyring(masterKeys: [1: v1]).wrap(DataKey.generate(), for: owner)
        _ = try ring.unwrap(wrappedUnder1, for: owner)
        #expect(throws: LatchkeyError.self) { try ring.removing([2]) }
        do {
            _ = try ring.removing([1]).unwrap(wrappedUnder1, for: owner)
            Issue.record("a retired version unwrapped a data key")
        } catch {
            #expect(error.code == .decryptionFailed && error.message.contains("version 1 is not loaded"))
        }
    }

    @Test func theHolderSwapsKeyringsAtomicallyAndKeepsTheOldOneWhenAChangeFails() throws {
        let holder = MasterKeyringHolder(try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)]))
        try holder.update { ring throws(LatchkeyError) in try ring.adding(version: 2, material: RandomToken.bytes(32)) }
        #expect(holder.current.currentVersion == 2)
        #expect(throws: LatchkeyError.self) { try holder.update { ring throws(LatchkeyError) in try ring.removing([2]) } }
        #expect(holder.current.versions == [1, 2])
    }

    @Test func aStagedVersionUnwrapsButNewKeysStayUnderTheCurrentOneUntilItIsMadeCurrent() throws {
        let v1 = try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)])
        let staged = try v1.staging(version: 2, material: RandomToken.bytes(32))
        #expect(staged.currentVersion == 1 && staged.versions == [1, 2])
        #expect(try staged.wrap(DataKey.generate(), for: owner).keyVersion == 1)
        let promoted = try staged.withCurrent(2)
        let underTwo = try promoted.wrap(DataKey.generate(), for: owner)
        #expect(underTwo.keyVersion == 2)
        _ = try staged.unwrap(underTwo, for: owner)
        #expect(throws: LatchkeyError.self) { try v1.withCurrent(2) }
    }

    @Test func aFingerprintNamesTheKeyNotTheVersionAndShowsNoKeyMaterial() throws {
        let material = RandomToken.bytes(32)
        let here = try MasterKeyring(masterKeys: [1: material])
        let elsewhere = try MasterKeyring(masterKeys: [1: material, 2: RandomToken.bytes(32)])
        let impostor = try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)])
        let print1 = try #require(here.fingerprint(version: 1))
        #expect(print1.count == 16 && print1.allSatisfy(\.isHexDigit))
        #expect(elsewhere.fingerprint(version: 1) == print1)
        #expect(impostor.fingerprint(version: 1) != print1)
        #expect(here.fingerprint(version: 2) == nil)
        let hex = material.map { String(format: "%02x", $0) }.joined()
        #expect(!hex.contains(print1))
    }
}
