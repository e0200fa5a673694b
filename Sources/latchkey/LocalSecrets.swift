import ArgumentParser
import Foundation
import LatchkeyCrypto
import LatchkeyModel

/// The master key and admin key of the embedded default: read from the environment or a file, or generated
/// once into a file with mode 0600. A generated key's *path* is printed; the key itself never is.
enum LocalSecrets {
    /// The master keys and where they live: the environment when `LATCHKEY_MASTER_KEY` (version 1) or
    /// `LATCHKEY_MASTER_KEYS` (`2:...,1:...`) is set, else the key file, else a new key (version 1) written to it.
    static func masterKeys(
        configured: String?, configuredList: String?, file: String, announce: (String) -> Void
    ) throws -> (keys: [Int: [UInt8]], source: any MasterKeySource) {
        do {
            if configured != nil || configuredList != nil {
                let source = try EnvironmentMasterKeys(single: configured, list: configuredList)
                return (try source.load(), source)
            }
            let source = MasterKeyFile(path: file)
            if !source.exists {
                try createDirectory(for: file)
                try source.append(version: 1, material: RandomToken.bytes(32))
                announce("generated a master key into \(file) (mode 0600); back it up: without it stored credentials cannot be read")
            }
            return (try source.load(), source)
        } catch let error as LatchkeyError {
            throw ValidationError(error.message)
        }
    }

    /// The admin key: `LATCHKEY_ADMIN_KEY`, else the key file, else a new key written to it.
    static func adminKey(configured: String?, file: String, announce: (String) -> Void) throws -> String {
        if let configured { return configured }
        if let text = try readSecretFile(file), !text.isEmpty { return text }
        let key = "lk_admin_" + RandomToken.base64URL(bytes: 32)
        try writeSecretFile(file, key)
        announce("generated an admin key into \(file) (mode 0600)")
        return key
    }

    static func readSecretFile(_ path: String) throws -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func createDirectory(for path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    static func writeSecretFile(_ path: String, _ content: String) throws {
        try createDirectory(for: path)
        guard FileManager.default.createFile(atPath: path, contents: Data((content + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("\(path): cannot be written")
        }
    }
}
