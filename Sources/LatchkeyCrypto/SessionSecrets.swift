import Crypto
import Foundation
import LatchkeyModel

/// What a dashboard session id yields to whoever holds it, and to nobody else: its CSRF token and the key that seals
/// messages for its pages.
///
/// The store keeps only SHA-256 of the id. Each value here is HKDF-SHA256 of the id itself under its own label, so
/// none follows from that hash or from another value: a database reader can neither forge a form nor read a message
/// (such as a connect link) waiting for the session's next page.
public struct SessionSecrets: Sendable {
    private let sessionID: String

    public init(sessionID: String) { self.sessionID = sessionID }

    /// The session's CSRF token: 32 derived bytes as base64url (43 characters).
    public var csrfToken: String { Base64URL.encode(derive("latchkey/admin-session/csrf/v1").withUnsafeBytes { Array($0) }) }

    /// Seals `plaintext` for this session (AES-256-GCM); the result is nonce, ciphertext and tag.
    public func seal(_ plaintext: [UInt8]) throws(LatchkeyError) -> [UInt8] {
        do {
            return Array(try AES.GCM.seal(plaintext, using: derive(Self.messageLabel)).combined!)
        } catch {
            throw LatchkeyError(.internalError, "could not seal a session message")
        }
    }

    /// Opens what `seal` of the same session id sealed; fails for any other id or a changed ciphertext.
    public func open(_ sealed: [UInt8]) throws(LatchkeyError) -> [UInt8] {
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: derive(Self.messageLabel)))
        } catch {
            throw LatchkeyError(.decryptionFailed, "a session message could not be decrypted")
        }
    }

    private static let messageLabel = "latchkey/admin-session/message/v1"

    private func derive(_ label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(sessionID.utf8)), info: Data(label.utf8), outputByteCount: 32)
    }
}
