internal import JWTKit

/// The JWS algorithms an ID token may be signed with: asymmetric ones only.
///
/// `none` and the HMAC family are absent on purpose. OpenID Connect Core 1.0 §10.1 allows HS256
/// only with the client secret as key, which Latchkey does not use for ID tokens; accepting it
/// against a JWKS is the classic key-confusion attack (the public key's bytes as an HMAC secret).
enum SigningAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256"
    case rs384 = "RS384"
    case rs512 = "RS512"
    case ps256 = "PS256"
    case ps384 = "PS384"
    case ps512 = "PS512"
    case es256 = "ES256"
    case es384 = "ES384"
    case es512 = "ES512"
    case edDSA = "EdDSA"

    /// jwt-kit's name for the same algorithm.
    var jwk: JWK.Algorithm {
        // Every case's raw value is one of jwt-kit's JWK algorithms.
        JWK.Algorithm(rawValue: rawValue)!
    }

    /// Whether `key` can verify this algorithm: the right key type (and curve), and the key's own
    /// `alg`, when it declares one, is this algorithm (RFC 7517 §4.4).
    func fits(_ key: JWK) -> Bool {
        if let declared = key.algorithm, declared.rawValue != rawValue { return false }
        switch self {
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: return key.keyType == .rsa
        case .es256: return key.keyType == .ecdsa && key.curve?.rawValue == "P-256"
        case .es384: return key.keyType == .ecdsa && key.curve?.rawValue == "P-384"
        case .es512: return key.keyType == .ecdsa && key.curve?.rawValue == "P-521"
        case .edDSA: return key.keyType == .octetKeyPair
        }
    }
}
