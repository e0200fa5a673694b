import Foundation
internal import JWTKit

/// Verifies OpenID Connect ID tokens from one issuer for one client (OpenID Connect Core 1.0 §3.1.3.7).
///
/// Pure: the JWKS and the clock are given, nothing is fetched. Signatures are checked by jwt-kit;
/// the claims are checked here, against the injected `now`, never the real clock.
///
/// A token is accepted only when all of these hold:
/// - its `alg` is asymmetric (RS, PS, ES or EdDSA; never `none` or HMAC) and fits the key;
/// - its `kid` names a key in the JWKS (or it names none and the JWKS holds one key);
/// - the signature verifies against that key;
/// - `iss` is exactly the issuer; `aud` holds the client id, and `azp`, when present or when
///   there are several audiences, is the client id;
/// - `exp` is after `now` and `iat` and `nbf` are not after it, each within `leeway`;
/// - `nonce` is the one this login sent.
public struct IDTokenVerifier: Sendable {
    /// The longest token accepted, well above any real ID token, so a huge input costs nothing.
    static let maximumTokenLength = 64 * 1024

    private let keys: VerificationKeys
    private let issuer: String
    private let clientID: String
    private let now: Date
    private let leeway: TimeInterval

    /// Prepares to verify tokens signed by a key in `jwks`.
    ///
    /// - Parameters:
    ///   - jwks: the provider's JWKS document (the body at its `jwks_uri`).
    ///   - issuer: the issuer the tokens must name, exactly as in the discovery document.
    ///   - clientID: this client's id, which `aud` must hold.
    ///   - now: the current time, from the caller's clock.
    ///   - leeway: how far clocks may disagree, in seconds; applied to `exp`, `iat` and `nbf`.
    /// - Throws: `invalid_jwks` when `jwks` is not a JWKS, or holds no signing key.
    public init(jwks: Data, issuer: String, clientID: String, now: Date, leeway: TimeInterval = 60) throws(OIDCError) {
        self.keys = try VerificationKeys(jwks: jwks)
        self.issuer = issuer
        self.clientID = clientID
        self.now = now
        self.leeway = max(0, leeway)
    }

    /// Verifies `idToken` and returns its claims.
    ///
    /// - Parameter expectedNonce: the nonce this login put in its authorization request.
    /// - Throws: an ``OIDCError`` naming the first check that failed; its message never holds the token.
    public func verify(_ idToken: String, expectedNonce: String) async throws(OIDCError) -> IDTokenClaims {
        guard idToken.utf8.count <= Self.maximumTokenLength else {
            throw .malformedToken("the ID token is longer than \(Self.maximumTokenLength) bytes")
        }
        let key = try keyFor(header: try header(of: idToken))
        let payload = try await verifiedPayload(idToken, key: key)
        return try claims(of: payload, expectedNonce: expectedNonce)
    }

    /// The header, read before the signature is checked: it says which key and algorithm to check with.
    private func header(of idToken: String) throws(OIDCError) -> JWTHeader {
        do {
            return try DefaultJWTParser().parse(Array(idToken.utf8), as: AnyPayload.self).header
        } catch {
            throw .malformedToken("the ID token is not a compact JWS of three base64url JSON parts")
        }
    }

    private func keyFor(header: JWTHeader) throws(OIDCError) -> JWK {
        // RFC 7515 §4.1.11: an extension marked critical that we do not understand must be refused.
        if header.fields["crit"] != nil {
            throw .malformedToken("the ID token's header marks extensions critical (crit), which Latchkey does not support")
        }
        guard let name = header.alg else {
            throw .unsupportedAlgorithm("the ID token's header has no alg")
        }
        guard let alg = SigningAlgorithm(rawValue: name) else {
            throw .unsupportedAlgorithm(
                "the ID token's alg '\(name.prefix(16))' is not an asymmetric signature algorithm Latchkey accepts")
        }
        if header.fields["kid"] != nil, header.kid == nil {
            throw .malformedToken("the ID token's kid is not a string")
        }
        return try keys.key(kid: header.kid, alg: alg)
    }

    /// The payload, once jwt-kit has verified the signature with `key` alone.
    private func verifiedPayload(_ idToken: String, key: JWK) async throws(OIDCError) -> IDTokenPayload {
        // A collection per call, holding only the chosen key: jwt-kit falls back to its default key
        // when a kid is unknown, and caches the algorithm a key was first used with.
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwk: key)
        } catch {
            let kid = key.keyIdentifier?.string.prefix(64) ?? ""
            throw .invalidJWKS("the JWKS key '\(kid)' is not a valid \(key.keyType.rawValue) public key")
        }
        do {
            return try await collection.verify(idToken, as: IDTokenPayload.self)
        } catch let error as JWTError where error.errorType == .malformedToken {
            throw .malformedToken("the ID token's claims are not a JSON object of the expected types")
        } catch {
            throw .invalidSignature("the ID token's signature does not verify against the key it names")
        }
    }

    private func claims(of p: IDTokenPayload, expectedNonce: String) throws(OIDCError) -> IDTokenClaims {
        guard let iss = p.iss else { throw .malformedToken("the ID token has no iss claim") }
        guard iss == issuer else {
            throw .wrongIssuer("the ID token was issued by '\(iss.prefix(200))', expected '\(issuer)'")
        }
        guard let sub = p.sub, !sub.isEmpty else { throw .malformedToken("the ID token has no sub claim") }
        guard let audience = p.aud?.values, !audience.isEmpty else { throw .malformedToken("the ID token has no aud claim") }
        guard audience.contains(clientID) else {
            throw .wrongAudience("the ID token's aud does not include this client id")
        }
        // Core §3.1.3.7 (4, 5): with several audiences azp must be present; when present it must be us.
        if let azp = p.azp, azp != clientID {
            throw .wrongAudience("the ID token's azp names another client")
        }
        if audience.count > 1, p.azp == nil {
            throw .wrongAudience("the ID token names several audiences and no azp")
        }
        guard let exp = p.exp else { throw .malformedToken("the ID token has no exp claim") }
        guard let iat = p.iat else { throw .malformedToken("the ID token has no iat claim") }
        let expiresAt = Date(timeIntervalSince1970: exp)
        let issuedAt = Date(timeIntervalSince1970: iat)
        guard now < expiresAt.addingTimeInterval(leeway) else {
            throw .expired("the ID token expired at \(Self.format(expiresAt))")
        }
        guard issuedAt <= now.addingTimeInterval(leeway) else {
            throw .notYetValid("the ID token was issued in the future, at \(Self.format(issuedAt))")
        }
        if let nbf = p.nbf, Date(timeIntervalSince1970: nbf) > now.addingTimeInterval(leeway) {
            throw .notYetValid("the ID token is not valid before \(Self.format(Date(timeIntervalSince1970: nbf)))")
        }
        guard let nonce = p.nonce else { throw .nonceMismatch("the ID token has no nonce claim") }
        guard !expectedNonce.isEmpty, ConstantTime.equals(nonce, expectedNonce) else {
            throw .nonceMismatch("the ID token's nonce is not the one this login sent")
        }
        return IDTokenClaims(
            subject: sub, issuer: iss, audience: audience, expiresAt: expiresAt, issuedAt: issuedAt, nonce: nonce,
            email: p.email, emailVerified: p.emailVerified?.value ?? false, name: p.name
        )
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// A payload that decodes from any JSON object, to read the header without trusting anything.
    private struct AnyPayload: JWTPayload {
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }
}
