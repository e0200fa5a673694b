import Crypto
import Foundation
import LatchkeyModel

/// What a ciphertext is bound to. Opening it under any other binding fails.
public struct SealBinding: Sendable, Equatable {
    /// The kind of secret, such as `credential`, `client_secret` or `pkce_verifier`.
    public var purpose: String
    /// The row the ciphertext belongs to (connection id, app id, state hash).
    public var rowID: String
    public var owner: OwnerRef
    public var provider: ProviderID

    public init(purpose: String, rowID: String, owner: OwnerRef, provider: ProviderID) {
        self.purpose = purpose
        self.rowID = rowID
        self.owner = owner
        self.provider = provider
    }

    var additionalData: Data {
        Data("latchkey/\(purpose)/v1|\(rowID)|\(owner)|\(provider)".utf8)
    }
}

/// AES-256-GCM sealing of secrets under an owner's data key, with the binding as authenticated data.
public enum Sealer {
    /// Seals `plaintext`; the result is nonce, ciphertext and tag.
    public static func seal(_ plaintext: [UInt8], with key: DataKey, binding: SealBinding) throws(LatchkeyError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(plaintext, using: key.symmetricKey, authenticating: binding.additionalData)
            return Array(box.combined!)
        } catch {
            throw LatchkeyError(.internalError, "could not seal a \(binding.purpose)")
        }
    }

    /// Opens a sealed value. Fails when the key or any part of the binding differs.
    public static func open(_ sealed: [UInt8], with key: DataKey, binding: SealBinding) throws(LatchkeyError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key.symmetricKey, authenticating: binding.additionalData))
        } catch {
            throw LatchkeyError(.decryptionFailed, "a \(binding.purpose) of \(binding.owner) could not be decrypted")
        }
    }
}

/// One-way hashes for values stored only as hashes: agent keys, admin keys, OAuth states, session tokens.
public enum SecretHash {
    /// Lowercase hex SHA-256 of `secret`. Every agent's call hashes its key: the bytes are hashed where they are.
    public static func sha256Hex(_ secret: String) -> String {
        var secret = secret
        return secret.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }.withUnsafeBytes { hex($0) }
    }

    /// `bytes` as lowercase hex, written straight into the string (no `String(format:)` per byte, which was a
    /// Foundation format parse each time, measured at 7 % of the proxy's CPU in benchmarks/proxy).
    public static func hex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        String(unsafeUninitializedCapacity: bytes.count * 2) { text in
            var i = 0
            for byte in bytes {
                text[i] = digit(byte >> 4)
                text[i + 1] = digit(byte & 0x0F)
                i += 2
            }
            return i
        }
    }

    private static func digit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// SHA-256 digest bytes.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Compares two strings in time independent of where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                var diff: UInt8 = 0
                for i in 0..<x.count { diff |= x[i] ^ y[i] }
                return diff == 0
            }
        }
    }
}

/// HMAC-SHA256, for signing cookies and webhooks.
public enum MessageAuthenticator {
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}
