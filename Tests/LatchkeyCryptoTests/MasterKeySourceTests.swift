import Foundation
import LatchkeyCrypto
import LatchkeyModel
import Testing

/// The key file and the environment variables that hold master keys by version.
@Suite("Master key sources")
struct MasterKeySourceTests {
    let k1 = RandomToken.bytes(32)
    let k2 = RandomToken.bytes(32)
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    func file(_ text: String) throws -> MasterKeyFile {
        let path = directory + "/master.key"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return MasterKeyFile(path: path)
    }

    @Test func aLegacyFileOfOneBase64LineIsVersionOne() throws {
        #expect(try file(b64(k1) + "\n").load() == [1: k1])
    }

    @Test func aFileHoldsOneVersionPerLineAndTheHighestIsCurrent() throws {
        let keys = try file("# rotated 2026-01-01\n\(b64(k1))\n\n2:\(b64(k2))\n").load()
        #expect(keys == [1: k1, 2: k2])
        #expect(try MasterKeyring(masterKeys: keys).currentVersion == 2)
    }

    @Test(arguments: [
        ("1:abc", "1: the key must be base64 of exactly 32 bytes"),
        ("x:AAAA", "1: expected VERSION:BASE64"),
        ("0:AAAA", "1: expected VERSION:BASE64"),
        ("# nothing", "holds no master key"),
    ])
    func aMalformedFileIsRefusedNamingTheLineNeverTheKey(text: String, message: String) throws {
        let source = try file(text)
        do {
            _ = try source.load()
            Issue.record("a malformed key file was accepted")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(!error.message.contains("AAAA"))
        }
    }

    @Test func aVersionTwiceIsRefused() throws {
        #expect(throws: LatchkeyError.self) { try file("\(b64(k1))\n1:\(b64(k2))\n").load() }
    }

    @Test func appendingAndRemovingKeepOtherLinesAndMode0600() throws {
        let source = try file("# keep me\n\(b64(k1))")
        try source.append(version: 2, material: k2)
        #expect(try source.load() == [1: k1, 2: k2])
        #expect(throws: LatchkeyError.self) { try source.append(version: 2, material: k1) }
        try source.remove(versions: [1])
        #expect(try source.load() == [2: k2])
        let text = try String(contentsOfFile: source.path, encoding: .utf8)
        #expect(text.hasPrefix("# keep me\n") && text.contains("2:\(b64(k2))"))
        let mode = try FileManager.default.attributesOfItem(atPath: source.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["master.key"])
    }

    @Test func removingTheLastKeyIsRefused() throws {
        let source = try file("1:\(b64(k1))\n")
        #expect(throws: LatchkeyError.self) { try source.remove(versions: [1]) }
        #expect(try source.load() == [1: k1])
    }

    @Test func theEnvironmentGivesVersionOneAndAListOfVersions() throws {
        #expect(try EnvironmentMasterKeys(single: b64(k1), list: nil).load() == [1: k1])
        #expect(try EnvironmentMasterKeys(single: nil, list: "2:\(b64(k2)), 1:\(b64(k1))").load() == [1: k1, 2: k2])
        #expect(try EnvironmentMasterKeys(single: b64(k1), list: "2:\(b64(k2))").load() == [1: k1, 2: k2])
        #expect(throws: LatchkeyError.self) { try EnvironmentMasterKeys(single: b64(k2), list: "1:\(b64(k1))") }
        #expect(throws: LatchkeyError.self) { try EnvironmentMasterKeys(single: nil, list: b64(k1)) }
        #expect(throws: LatchkeyError.self) { try EnvironmentMasterKeys(single: nil, list: "1:\(b64(k1)),1:\(b64(k2))") }
    }

    @Test func theEnvironmentIsReadOnlyAndSaysHowToAddAVersion() throws {
        let source = try EnvironmentMasterKeys(single: b64(k1), list: nil)
        #expect(!source.isWritable)
        do {
            try source.append(version: 2, material: k2)
            Issue.record("the environment accepted a new version")
        } catch {
            #expect(error.code == .keySourceReadonly)
            #expect(error.message.contains("LATCHKEY_MASTER_KEYS=\"2:<new key>,1:<key 1>\""))
            #expect(!error.message.contains(b64(k1)) && !error.message.contains(b64(k2)))
        }
    }
}
