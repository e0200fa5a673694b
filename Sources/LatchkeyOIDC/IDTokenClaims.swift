import Foundation

/// The claims of an ID token that passed every check of ``IDTokenVerifier``.
public struct IDTokenClaims: Sendable, Equatable {
    /// `sub`: the provider's stable identifier for the person, unique within ``issuer``.
    public var subject: String
    /// `iss`: the issuer, exactly as expected.
    public var issuer: String
    /// `aud`: every audience the token names; the client id is among them.
    public var audience: [String]
    /// `exp`: when the token stops being acceptable (before the verifier's leeway).
    public var expiresAt: Date
    /// `iat`: when the provider issued the token.
    public var issuedAt: Date
    /// `nonce`: the value this login sent, echoed back.
    public var nonce: String
    /// `email`, when the provider shares it. Trust it as an identity only when ``emailVerified``.
    public var email: String?
    /// `email_verified`: true only when the provider said so (a JSON `true`, or the string `"true"`).
    public var emailVerified: Bool
    /// `name`: the person's display name, when the provider shares it.
    public var name: String?

    /// Claims as given, for callers' own tests; the verifier is what makes them trustworthy.
    public init(
        subject: String, issuer: String, audience: [String], expiresAt: Date, issuedAt: Date, nonce: String,
        email: String? = nil, emailVerified: Bool = false, name: String? = nil
    ) {
        self.subject = subject
        self.issuer = issuer
        self.audience = audience
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.nonce = nonce
        self.email = email
        self.emailVerified = emailVerified
        self.name = name
    }
}
