import Crypto
import Foundation
import LatchkeyModel

/// How Latchkey signs webhook requests, so a receiver can tell they are Latchkey's and recent.
///
/// The signed message is `"{timestamp}.{body}"`: the `Latchkey-Webhook-Timestamp` header (unix seconds), a dot,
/// and the raw request body. The `Latchkey-Webhook-Signature` header is `v1=` and the lowercase hex HMAC-SHA256 of
/// that message, keyed with the whole secret string (`whsec_…`) as UTF-8 bytes. Receivers recompute it, compare in
/// constant time, and refuse timestamps far from their clock (replays).
public enum WebhookSignature {
    /// The secret's prefix, which tells it apart from other Latchkey secrets.
    public static let secretPrefix = "whsec_"
    /// The scheme tag in front of the signature.
    public static let scheme = "v1"

    /// A new signing secret: `whsec_` and 32 random bytes as unpadded base64url.
    public static func generateSecret() -> String { secretPrefix + RandomToken.base64URL(bytes: 32) }

    /// The `Latchkey-Webhook-Signature` value for `body` sent at `timestamp`: `v1=<hex>`.
    public static func header(secret: String, timestamp: Int, body: [UInt8]) -> String {
        "\(scheme)=" + hex(secret: secret, timestamp: timestamp, body: body)
    }

    /// Whether `header` holds a valid `v1` signature of `body` at `timestamp` (any of several, comma-separated).
    public static func verify(header: String, secret: String, timestamp: Int, body: [UInt8]) -> Bool {
        let expected = hex(secret: secret, timestamp: timestamp, body: body)
        return header.split(separator: ",").contains { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("\(scheme)=") else { return false }
            return SecretHash.constantTimeEquals(String(trimmed.dropFirst(scheme.count + 1)), expected)
        }
    }

    static func hex(secret: String, timestamp: Int, body: [UInt8]) -> String {
        let message = Array("\(timestamp).".utf8) + body
        return SecretHash.hex(MessageAuthenticator.hmacSHA256(key: Array(secret.utf8), message: message))
    }
}
