import Foundation
internal import JWTKit

/// The signing keys of one JWKS (RFC 7517 §5), and the rule for picking the one a token names.
///
/// Keys jwt-kit cannot read (an `oct` key, an unknown `kty` or `alg`) and keys published for
/// encryption (`"use": "enc"`) are skipped rather than failing the whole set: providers publish
/// several kinds side by side.
struct VerificationKeys: Sendable {
    private let keys: [JWK]

    /// Reads a JWKS document. Throws `invalid_jwks` when it is not one, or holds no signing key.
    init(jwks: Data) throws(OIDCError) {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: jwks)
        } catch {
            throw .invalidJWKS("the JWKS is not a JSON object with a \"keys\" array")
        }
        keys = document.keys.compactMap(\.signingKey)
        guard !keys.isEmpty else {
            throw .invalidJWKS("the JWKS holds no RSA, EC or OKP signing key")
        }
    }

    /// The key a token with header `kid` and `alg` must verify against, set to exactly that algorithm.
    ///
    /// A token without a `kid` is accepted only when the JWKS holds a single key (OpenID Connect
    /// Core 1.0 §10.1). The returned key's `alg` is pinned, so jwt-kit cannot be steered to another
    /// algorithm by the header, and it always carries a `kid`, which jwt-kit requires of a JWK.
    func key(kid: String?, alg: SigningAlgorithm) throws(OIDCError) -> JWK {
        let candidates: [JWK]
        if let kid {
            candidates = keys.filter { $0.keyIdentifier?.string == kid }
            guard !candidates.isEmpty else {
                throw .unknownKey("no key in the JWKS has the token's kid '\(kid.prefix(64))'")
            }
        } else {
            guard keys.count == 1 else {
                throw .unknownKey("the token names no kid and the JWKS holds \(keys.count) keys")
            }
            candidates = keys
        }
        guard var key = candidates.first(where: alg.fits) else {
            throw .unsupportedAlgorithm("the token's alg \(alg.rawValue) does not fit the key it names")
        }
        key.algorithm = alg.jwk
        if key.keyIdentifier == nil { key.keyIdentifier = JWKIdentifier(string: "unnamed") }
        return key
    }

    private struct Document: Decodable {
        let keys: [Entry]
    }

    /// One element of `keys`: the key when it is one jwt-kit can verify with, else nil.
    private struct Entry: Decodable {
        let signingKey: JWK?

        private enum CodingKeys: String, CodingKey { case use }

        init(from decoder: any Decoder) throws {
            let use = try? decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .use)
            if use == "enc" {
                signingKey = nil
            } else {
                signingKey = try? JWK(from: decoder)
            }
        }
    }
}
