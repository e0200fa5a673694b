import CryptoExtras
import Foundation
import JWTKit
import LatchkeyModel
import LatchkeyOIDC

/// The fixed facts of the test provider and client.
enum Provider {
    static let issuer = "https://login.example.com"
    static let clientID = "latchkey-client"
    static let nonce = "n-0S6_WzA2Mj"
    /// The injected clock: 2027-01-15, well away from the machine's real clock.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Claims a provider would sign for a fresh login, before a test changes any.
    static func claims(now: Date = now) -> [String: JSONValue] {
        [
            "iss": .string(issuer),
            "sub": .string("248289761001"),
            "aud": .string(clientID),
            "exp": .number(now.timeIntervalSince1970 + 600),
            "iat": .number(now.timeIntervalSince1970 - 5),
            "nonce": .string(nonce),
            "email": .string("jane@example.com"),
            "email_verified": .bool(true),
            "name": .string("Jane Doe"),
        ]
    }

    /// A verifier trusting `jwks`, for this issuer and client, at `now`.
    static func verifier(jwks: Data, now: Date = now) throws -> IDTokenVerifier {
        try IDTokenVerifier(jwks: jwks, issuer: issuer, clientID: clientID, now: now)
    }
}

/// A signing key generated for the tests: its private half signs tokens, its public half goes in a JWKS.
struct TestKey: Sendable {
    enum Material: Sendable {
        case rsa(JWTKit.Insecure.RSA.PrivateKey)
        case p256(ES256PrivateKey)
    }

    let kid: String
    let material: Material

    static func rsa(kid: String) -> TestKey {
        // swift-crypto generates the key; 2048 bits is the smallest it allows.
        let backing = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
        return TestKey(kid: kid, material: .rsa(try! JWTKit.Insecure.RSA.PrivateKey(backing: backing)))
    }

    static func p256(kid: String) -> TestKey {
        TestKey(kid: kid, material: .p256(ES256PrivateKey()))
    }

    /// The public JWK, with `alg` when `declaringAlg` (RSA keys usually say RS256; many EC keys say nothing).
    func publicJWK(declaringAlg: Bool = true) throws -> JWK {
        switch material {
        case .rsa(let key):
            let (n, e) = try key.publicKey.getKeyPrimitives()
            return .rsa(
                declaringAlg ? .rs256 : nil, identifier: JWKIdentifier(string: kid),
                modulus: Base64URL.string(n), exponent: Base64URL.string(e))
        case .p256(let key):
            let (x, y) = key.publicKey.parameters!
            return .ecdsa(declaringAlg ? .es256 : nil, identifier: JWKIdentifier(string: kid), x: x, y: y, curve: .p256)
        }
    }

    /// The public key as PEM: what an attacker would use as an HMAC secret.
    var publicKeyPEM: String {
        switch material {
        case .rsa(let key): key.publicKey.pemRepresentation
        case .p256(let key): key.publicKey.pemRepresentation
        }
    }

    /// A compact JWS of `claims`, signed by this key. `kid` defaults to the key's own; pass
    /// `.some(nil)` to leave it out. `alg` overrides the header's algorithm name without changing
    /// how the token is signed.
    func sign(_ claims: [String: JSONValue], kid: String?? = .none, alg: String? = nil) async throws -> String {
        let keys = JWTKeyCollection()
        switch material {
        case .rsa(let key): await keys.add(rsa: key, digestAlgorithm: .sha256)
        case .p256(let key): await keys.add(ecdsa: key)
        }
        var header = JWTHeader()
        if let name = kid ?? self.kid { header.kid = name }
        if let alg { header.alg = alg }
        return try await keys.sign(ClaimSet(claims), header: header)
    }
}

/// A JWKS document holding `keys`, with `extra` raw entries after them.
func jwks(_ keys: [JWK], extra: [JSONValue] = []) throws -> Data {
    let encoded = try JSONEncoder().encode(JWKS(keys: keys))
    guard case .object(var document) = try JSONDecoder().decode(JSONValue.self, from: encoded),
        case .array(let entries) = document["keys"]
    else { fatalError("jwt-kit encoded a JWKS that is not an object with keys") }
    document["keys"] = .array(entries + extra)
    return try JSONEncoder().encode(JSONValue.object(document))
}

/// Any JSON object of claims, signed as is.
struct ClaimSet: JWTPayload {
    var claims: [String: JSONValue]

    init(_ claims: [String: JSONValue]) { self.claims = claims }

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

enum Base64URL {
    static func string(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A token part: base64url of the JSON text.
    static func json(_ text: String) -> String { string(Data(text.utf8)) }
}

/// The keys every test shares. RSA generation is slow in a debug build, so each is made once.
enum Keys {
    static let rsa = TestKey.rsa(kid: "rsa-2026")
    /// Another key under the same kid: what a forger holds.
    static let forger = TestKey.rsa(kid: "rsa-2026")
    static let ec = TestKey.p256(kid: "ec-2026")

    /// The provider's JWKS: the RSA key declaring RS256, the EC key declaring nothing.
    static func providerJWKS() throws -> Data {
        try jwks([rsa.publicJWK(), ec.publicJWK(declaringAlg: false)])
    }
}
