import LatchkeyCrypto
import LatchkeyModel
import Testing

@Suite("Envelope encryption")
struct EnvelopeTests {
    let keyring = try! MasterKeyring(masterKeys: [1: RandomToken.bytes(32)], currentVersion: 1)
    let owner = try! OwnerRef(parsing: "agent:acme/growth/crm/scout")
    let other = try! OwnerRef(parsing: "agent:acme/growth/crm/other")

    func binding(row: String = "conn_1", owner: OwnerRef? = nil, provider: String = "github") -> SealBinding {
        SealBinding(purpose: "credential", rowID: row, owner: owner ?? self.owner, provider: ProviderID(provider))
    }

    @Test func aSealedValueOpensUnderTheSameBinding() throws {
        let key = DataKey.generate()
        let sealed = try Sealer.seal(Array("token-123".utf8), with: key, binding: binding())
        #expect(!sealed.containsSubsequence(Array("token-123".utf8)))
        #expect(try Sealer.open(sealed, with: key, binding: binding()) == Array("token-123".utf8))
    }

    @Test(arguments: ["row", "owner", "provider", "purpose"])
    func aCiphertextMovedToAnotherRowOwnerProviderOrPurposeDoesNotOpen(change: String) throws {
        let key = DataKey.generate()
        let sealed = try Sealer.seal(Array("token".utf8), with: key, binding: binding())
        var wrong = binding()
        switch change {
        case "row": wrong.rowID = "conn_2"
        case "owner": wrong.owner = other
        case "provider": wrong.provider = ProviderID("slack")
        default: wrong.purpose = "client_secret"
        }
        #expect(throws: LatchkeyError.self) { try Sealer.open(sealed, with: key, binding: wrong) }
    }

    @Test func aTamperedCiphertextDoesNotOpen() throws {
        let key = DataKey.generate()
        var sealed = try Sealer.seal(Array("token".utf8), with: key, binding: binding())
        sealed[sealed.count / 2] ^= 1
        #expect(throws: LatchkeyError.self) { try Sealer.open(sealed, with: key, binding: binding()) }
    }

    @Test func aDataKeyUnwrapsOnlyForItsOwnerAndKeyVersion() throws {
        let key = DataKey.generate()
        let wrapped = try keyring.wrap(key, for: owner)
        #expect(wrapped.keyVersion == 1)
        let unwrapped = try keyring.unwrap(wrapped, for: owner)
        let sealed = try Sealer.seal([1, 2, 3], with: key, binding: binding())
        #expect(try Sealer.open(sealed, with: unwrapped, binding: binding()) == [1, 2, 3])
        #expect(throws: LatchkeyError.self) { try keyring.unwrap(wrapped, for: other) }
        let otherRing = try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)], currentVersion: 1)
        #expect(throws: LatchkeyError.self) { try otherRing.unwrap(wrapped, for: owner) }
    }

    @Test func aKeyringWithSeveralVersionsWrapsUnderTheCurrentOneAndUnwrapsOlderOnes() throws {
        let v1 = RandomToken.bytes(32)
        let old = try MasterKeyring(masterKeys: [1: v1], currentVersion: 1)
        let wrappedOld = try old.wrap(DataKey.generate(), for: owner)
        let rotated = try MasterKeyring(masterKeys: [1: v1, 2: RandomToken.bytes(32)], currentVersion: 2)
        #expect(try rotated.wrap(DataKey.generate(), for: owner).keyVersion == 2)
        _ = try rotated.unwrap(wrappedOld, for: owner)
    }

    @Test func masterKeysMustBe32Bytes() {
        #expect(throws: LatchkeyError.self) { try MasterKeyring(masterKeys: [1: [1, 2, 3]], currentVersion: 1) }
        #expect(throws: LatchkeyError.self) { try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)], currentVersion: 2) }
    }

    @Test func hashesAreStableHexAndComparisonIsExact() {
        #expect(SecretHash.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SecretHash.hex((0...255).map(UInt8.init)) == (0...255).map { String(format: "%02x", $0) }.joined())
        #expect(SecretHash.hex([UInt8]()) == "")
        #expect(SecretHash.constantTimeEquals("abc", "abc"))
        #expect(!SecretHash.constantTimeEquals("abc", "abd"))
        #expect(!SecretHash.constantTimeEquals("abc", "abcd"))
        // Hashed and compared as UTF-8 bytes, whatever the string's storage.
        for text in ["", "é", "lk_agent_" + String(repeating: "x", count: 43), String("xx-κλειδί-xx".dropFirst(3).dropLast(3))] {
            #expect(SecretHash.sha256Hex(text) == SecretHash.hex(SecretHash.sha256(Array(text.utf8))))
        }
        #expect(!SecretHash.constantTimeEquals("é", "ab"))
        #expect(SecretHash.constantTimeEquals("κλειδί", "κλειδί"))
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        for i in 0...(count - needle.count) where Array(self[i..<(i + needle.count)]) == needle { return true }
        return false
    }
}
