import Foundation
import JWTKit
import LatchkeyModel
import LatchkeyOIDC
import Testing

@Suite("ID token verification")
struct IDTokenVerifierTests {
    /// The code `verify` refuses `token` with, checking on the way that the message keeps the token and nonce out.
    func refusal(
        _ token: String, jwks: Data? = nil, now: Date = Provider.now, nonce: String = Provider.nonce
    ) async throws -> String? {
        let verifier = try Provider.verifier(jwks: jwks ?? Keys.providerJWKS(), now: now)
        let error = await #expect(throws: OIDCError.self) { try await verifier.verify(token, expectedNonce: nonce) }
        if let error {
            #expect(!error.message.contains(token) && !error.message.contains(Provider.nonce))
            for part in token.split(separator: ".") where part.count > 8 {
                #expect(!error.message.contains(part), "the message quotes part of the token")
            }
        }
        return error?.code
    }

    @Test func aValidRS256TokenIsAcceptedAndItsClaimsRead() async throws {
        let token = try await Keys.rsa.sign(Provider.claims())
        let claims = try await Provider.verifier(jwks: Keys.providerJWKS()).verify(token, expectedNonce: Provider.nonce)
        #expect(claims.subject == "248289761001")
        #expect(claims.issuer == Provider.issuer)
        #expect(claims.audience == [Provider.clientID])
        #expect(claims.expiresAt == Provider.now.addingTimeInterval(600))
        #expect(claims.issuedAt == Provider.now.addingTimeInterval(-5))
        #expect(claims.nonce == Provider.nonce)
        #expect(claims.email == "jane@example.com" && claims.emailVerified)
        #expect(claims.name == "Jane Doe")
    }

    @Test func aValidES256TokenIsAcceptedAgainstAKeyThatDeclaresNoAlg() async throws {
        let token = try await Keys.ec.sign(Provider.claims())
        let claims = try await Provider.verifier(jwks: Keys.providerJWKS()).verify(token, expectedNonce: Provider.nonce)
        #expect(claims.subject == "248289761001")
    }

    @Test(arguments: [
        (JSONValue.string("true"), true), (.string("false"), false), (.bool(false), false), (.null, false),
    ])
    func emailVerifiedMayArriveAsABooleanOrTheStringTrue(value: JSONValue, verified: Bool) async throws {
        var claims = Provider.claims()
        claims["email_verified"] = value
        let token = try await Keys.rsa.sign(claims)
        let read = try await Provider.verifier(jwks: Keys.providerJWKS()).verify(token, expectedNonce: Provider.nonce)
        #expect(read.emailVerified == verified)
    }

    @Test func severalAudiencesAreAcceptedWhenAzpIsThisClient() async throws {
        var claims = Provider.claims()
        claims["aud"] = .array([.string(Provider.clientID), .string("https://api.example.com")])
        claims["azp"] = .string(Provider.clientID)
        let token = try await Keys.rsa.sign(claims)
        let read = try await Provider.verifier(jwks: Keys.providerJWKS()).verify(token, expectedNonce: Provider.nonce)
        #expect(read.audience == [Provider.clientID, "https://api.example.com"])
    }

    @Test func aTokenSignedByAnotherKeyWithTheSameKidIsRefused() async throws {
        let token = try await Keys.forger.sign(Provider.claims())
        #expect(try await refusal(token) == "invalid_signature")
    }

    @Test func aTokenWhoseClaimsWereChangedAfterSigningIsRefused() async throws {
        let parts = try await Keys.rsa.sign(Provider.claims()).split(separator: ".")
        var claims = Provider.claims()
        claims["sub"] = .string("admin")
        let payload = Base64URL.string(try JSONEncoder().encode(claims))
        #expect(try await refusal("\(parts[0]).\(payload).\(parts[2])") == "invalid_signature")
    }

    @Test func aTokenWhoseKidIsNotInTheJWKSIsRefused() async throws {
        // jwt-kit alone would fall back to its default key here; the verifier must not.
        let token = try await Keys.rsa.sign(Provider.claims(), kid: "rsa-2019")
        #expect(try await refusal(token) == "unknown_key")
    }

    @Test func aTokenWithoutKidIsAcceptedOnlyWhenTheJWKSHoldsOneKey() async throws {
        let token = try await Keys.rsa.sign(Provider.claims(), kid: .some(nil))
        let single = try jwks([Keys.rsa.publicJWK()])
        let claims = try await Provider.verifier(jwks: single).verify(token, expectedNonce: Provider.nonce)
        #expect(claims.subject == "248289761001")
        #expect(try await refusal(token, jwks: Keys.providerJWKS()) == "unknown_key")
    }

    @Test func anUnsignedAlgNoneTokenIsRefused() async throws {
        let header = Base64URL.json(#"{"alg":"none","kid":"rsa-2026"}"#)
        let payload = Base64URL.string(try JSONEncoder().encode(Provider.claims()))
        #expect(try await refusal("\(header).\(payload).") == "unsupported_algorithm")
    }

    @Test func anHS256TokenKeyedWithThePublicKeyIsRefused() async throws {
        // The key-confusion attack: the RSA public key, which anyone can read, used as an HMAC secret.
        let attacker = JWTKeyCollection()
        await attacker.add(hmac: HMACKey(from: Keys.rsa.publicKeyPEM), digestAlgorithm: .sha256, kid: "rsa-2026")
        let token = try await attacker.sign(ClaimSet(Provider.claims()), kid: "rsa-2026")
        #expect(try await refusal(token) == "unsupported_algorithm")
    }

    @Test(arguments: ["none", "None", "NONE", "HS256", "HS384", "HS512", "RSA-OAEP", "RS1", ""])
    func algorithmsOtherThanAsymmetricSignaturesAreRefused(alg: String) async throws {
        let header = Base64URL.json(#"{"alg":"\#(alg)","kid":"rsa-2026","typ":"JWT"}"#)
        let payload = Base64URL.string(try JSONEncoder().encode(Provider.claims()))
        #expect(try await refusal("\(header).\(payload).c2lnbmF0dXJl") == "unsupported_algorithm")
    }

    @Test func aTokenWhoseAlgDoesNotFitTheKeyItNamesIsRefused() async throws {
        // Signed with the EC key but naming the RSA key's kid.
        let token = try await Keys.ec.sign(Provider.claims(), kid: "rsa-2026")
        #expect(try await refusal(token) == "unsupported_algorithm")
        // An RS256 signature presented as PS256 against a key that declares RS256.
        let relabelled = try await Keys.rsa.sign(Provider.claims(), alg: "PS256")
        #expect(try await refusal(relabelled) == "unsupported_algorithm")
    }

    @Test func aTokenWithCriticalHeaderExtensionsIsRefused() async throws {
        let header = Base64URL.json(#"{"alg":"RS256","kid":"rsa-2026","crit":["exp"],"exp":1}"#)
        let payload = Base64URL.string(try JSONEncoder().encode(Provider.claims()))
        #expect(try await refusal("\(header).\(payload).c2ln") == "malformed_token")
    }

    struct ClaimCase: Sendable, CustomTestStringConvertible {
        let testDescription: String
        /// Claims to set; a nil value removes the claim.
        let changes: [String: JSONValue?]
        let code: String
    }

    static let claimCases: [ClaimCase] = {
        let now = Provider.now.timeIntervalSince1970
        let client = JSONValue.string(Provider.clientID)
        return [
            .init(testDescription: "another issuer", changes: ["iss": .string("https://evil.example.com")], code: "wrong_issuer"),
            .init(testDescription: "issuer with a trailing slash", changes: ["iss": .string(Provider.issuer + "/")], code: "wrong_issuer"),
            .init(testDescription: "issuer in another case", changes: ["iss": .string("https://LOGIN.example.com")], code: "wrong_issuer"),
            .init(testDescription: "no issuer", changes: ["iss": nil], code: "malformed_token"),
            .init(testDescription: "another audience", changes: ["aud": .string("someone-else")], code: "wrong_audience"),
            .init(testDescription: "audiences without us", changes: ["aud": .array([.string("a"), .string("b")])], code: "wrong_audience"),
            .init(testDescription: "several audiences, no azp", changes: ["aud": .array([client, .string("b")])], code: "wrong_audience"),
            .init(
                testDescription: "several audiences, azp another client",
                changes: ["aud": .array([client, .string("b")]), "azp": .string("b")], code: "wrong_audience"),
            .init(testDescription: "azp another client", changes: ["azp": .string("b")], code: "wrong_audience"),
            .init(testDescription: "empty audience list", changes: ["aud": .array([])], code: "malformed_token"),
            .init(testDescription: "expired beyond the leeway", changes: ["exp": .number(now - 61)], code: "expired"),
            .init(testDescription: "expired long ago", changes: ["exp": .number(now - 86_400)], code: "expired"),
            .init(testDescription: "no exp", changes: ["exp": nil], code: "malformed_token"),
            .init(testDescription: "no iat", changes: ["iat": nil], code: "malformed_token"),
            .init(testDescription: "issued in the future", changes: ["iat": .number(now + 3600)], code: "not_yet_valid"),
            .init(testDescription: "not valid before an hour from now", changes: ["nbf": .number(now + 3600)], code: "not_yet_valid"),
            .init(testDescription: "no sub", changes: ["sub": nil], code: "malformed_token"),
            .init(testDescription: "another nonce", changes: ["nonce": .string("n-replayed-from-yesterday")], code: "nonce_mismatch"),
            .init(testDescription: "a nonce that differs only at the end", changes: ["nonce": .string("n-0S6_WzA2Mk")], code: "nonce_mismatch"),
            .init(testDescription: "no nonce", changes: ["nonce": nil], code: "nonce_mismatch"),
            .init(testDescription: "exp as a string", changes: ["exp": .string("tomorrow")], code: "malformed_token"),
            .init(testDescription: "aud as a number", changes: ["aud": .number(1)], code: "malformed_token"),
        ]
    }()

    @Test(arguments: claimCases)
    func claimsThatDoNotHoldAreRefused(_ testCase: ClaimCase) async throws {
        var claims = Provider.claims()
        for (name, value) in testCase.changes { claims[name] = value }
        let token = try await Keys.rsa.sign(claims)
        #expect(try await refusal(token) == testCase.code)
    }

    @Test func aReplayedTokenIsRefusedForTheNextLogin() async throws {
        let token = try await Keys.rsa.sign(Provider.claims())
        #expect(try await refusal(token, nonce: "n-the-next-login") == "nonce_mismatch")
        #expect(try await refusal(token, nonce: "") == "nonce_mismatch")
    }

    @Test func anExpiryWithinTheLeewayIsAccepted() async throws {
        var claims = Provider.claims()
        claims["exp"] = .number(Provider.now.timeIntervalSince1970 - 30)
        let token = try await Keys.rsa.sign(claims)
        let read = try await Provider.verifier(jwks: Keys.providerJWKS()).verify(token, expectedNonce: Provider.nonce)
        #expect(read.expiresAt < Provider.now)
    }

    @Test func expiryIsJudgedByTheInjectedClockNotTheRealOne() async throws {
        // Issued and expired in 2001: fine at an injected 2001 clock, whatever the machine's clock says.
        let then = Date(timeIntervalSince1970: 1_000_000_000)
        let token = try await Keys.rsa.sign(Provider.claims(now: then))
        let read = try await Provider.verifier(jwks: Keys.providerJWKS(), now: then).verify(token, expectedNonce: Provider.nonce)
        #expect(read.expiresAt == then.addingTimeInterval(600))
        #expect(try await refusal(token, now: then.addingTimeInterval(3600)) == "expired")
    }

    @Test(arguments: ["", "abc", "a.b", "a.b.c.d", "!!!.###.$$$", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"])
    func somethingThatIsNotACompactJWSIsMalformed(token: String) async throws {
        #expect(try await refusal(token) == "malformed_token")
    }

    @Test func aHugeTokenIsRefusedUnread() async throws {
        #expect(try await refusal(String(repeating: "a", count: 70_000)) == "malformed_token")
    }
}
