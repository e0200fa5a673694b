import LatchkeyCrypto
import LatchkeyModel

/// A PKCE pair (RFC 7636): a random verifier and its S256 challenge.
public struct PKCE: Sendable {
    /// 43 characters of base64url from 32 random bytes (RFC 7636 section 4.1). Secret until the exchange.
    public let verifier: String
    public var challenge: String { Self.challenge(for: verifier) }
    public let method = "S256"

    public init(verifier: String = RandomToken.base64URL(bytes: 32)) { self.verifier = verifier }

    /// BASE64URL(SHA256(ASCII(verifier))), RFC 7636 section 4.2.
    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(SecretHash.sha256(Array(verifier.utf8)))
    }
}
