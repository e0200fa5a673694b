import ArgumentParser
import Foundation
import LatchkeyModel

/// The master key and admin key of the embedded default: read from the environment or a file, or generated
/// once into a file with mode 0600. A generated key's *path* is printed; the key itself never is.
enum LocalSecrets {
    /// The master key bytes: `LATCHKEY_MASTER_KEY` (base64), else the key file, else a new key written to it.
    static func masterKey(configured: String?, file: String, announce: (String) -> Void) throws -> [UInt8] {
        if let configured {
            guard let bytes = Base64URL.decode(configured.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
                throw ValidationError("LATCHKEY_MASTER_KEY: must be base64 of exactly 32 bytes")
            }
            return bytes
        }
        if let text = try readSecretFile(file) {
            guard let bytes = Base64URL.decode(text), bytes.count == 32 else {
                throw ValidationError("\(file): must hold base64 of exactly 32 bytes")
            }
            return bytes
        }
        let bytes = RandomToken.bytes(32)
        try writeSecretFile(file, Data(bytes).base64EncodedString())
        announce("generated a master key into \(file) (mode 0600); back it up: without it stored credentials cannot be read")
        return bytes
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

    static func writeSecretFile(_ path: String, _ content: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        guard FileManager.default.createFile(atPath: path, contents: Data((content + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("\(path): cannot be written")
        }
    }
}
