/// Why an ID token or a discovery document was refused.
///
/// `code` is stable snake_case, safe to match on and to use as a metrics label; new codes never
/// break callers. `message` is for people: it may name a claim or an issuer, but never holds the
/// token, its signature or a nonce.
public struct OIDCError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case invalidSignature = "invalid_signature"
        case unknownKey = "unknown_key"
        case unsupportedAlgorithm = "unsupported_algorithm"
        case wrongIssuer = "wrong_issuer"
        case wrongAudience = "wrong_audience"
        case expired = "expired"
        case notYetValid = "not_yet_valid"
        case nonceMismatch = "nonce_mismatch"
        case malformedToken = "malformed_token"
        case invalidJWKS = "invalid_jwks"
        case invalidDiscovery = "invalid_discovery"
    }

    private let kind: Code

    /// A human-readable reason. Never the token or the nonce.
    public let message: String

    /// The stable snake_case code, e.g. `invalid_signature`.
    public var code: String { kind.rawValue }

    /// `code: message`, for logs.
    public var description: String { "\(code): \(message)" }

    /// Whether the refusal is about who issued the token or document.
    var isIssuerMismatch: Bool { kind == .wrongIssuer }

    private init(_ kind: Code, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The signature does not verify against the key the token names.
    static func invalidSignature(_ message: String) -> Self { .init(.invalidSignature, message) }
    /// The token's `kid` is not in the JWKS, or it names none and the JWKS holds several keys.
    static func unknownKey(_ message: String) -> Self { .init(.unknownKey, message) }
    /// `alg` is `none`, symmetric (HMAC), unknown, or does not fit the key it names.
    static func unsupportedAlgorithm(_ message: String) -> Self { .init(.unsupportedAlgorithm, message) }
    /// `iss` is not exactly the expected issuer.
    static func wrongIssuer(_ message: String) -> Self { .init(.wrongIssuer, message) }
    /// `aud` does not hold the client id, or `azp` names another client.
    static func wrongAudience(_ message: String) -> Self { .init(.wrongAudience, message) }
    /// `exp` has passed, leeway included.
    static func expired(_ message: String) -> Self { .init(.expired, message) }
    /// `iat` or `nbf` lies in the future, beyond the leeway.
    static func notYetValid(_ message: String) -> Self { .init(.notYetValid, message) }
    /// `nonce` is missing or differs from the one this login sent.
    static func nonceMismatch(_ message: String) -> Self { .init(.nonceMismatch, message) }
    /// The token is not a compact JWS with the claims an ID token must carry.
    static func malformedToken(_ message: String) -> Self { .init(.malformedToken, message) }
    /// The JWKS is not JSON, holds no usable signing key, or a key's material is unreadable.
    static func invalidJWKS(_ message: String) -> Self { .init(.invalidJWKS, message) }
    /// The discovery document is not JSON, lacks a required field, names another issuer, or a non-https endpoint.
    static func invalidDiscovery(_ message: String) -> Self { .init(.invalidDiscovery, message) }
}
