import LatchkeyModel
import LatchkeyOIDC
import Testing

@Suite("OIDC errors")
struct OIDCErrorTests {
    @Test func aWrongIssuerBecomesIssuerMismatchAndTheRestAnInvalidProviderResponse() async throws {
        var claims = Provider.claims()
        claims["iss"] = .string("https://evil.example.com")
        let token = try await Keys.rsa.sign(claims)
        let verifier = try Provider.verifier(jwks: Keys.providerJWKS())
        let wrongIssuer = await #expect(throws: OIDCError.self) { try await verifier.verify(token, expectedNonce: Provider.nonce) }
        #expect(wrongIssuer.map { LatchkeyError($0).code } == .issuerMismatch)
        let wrongNonce = await #expect(throws: OIDCError.self) {
            try await verifier.verify(Keys.rsa.sign(Provider.claims()), expectedNonce: "other")
        }
        #expect(wrongNonce.map { LatchkeyError($0) }?.code == .invalidProviderResponse)
        #expect(wrongNonce.map { LatchkeyError($0) }?.message.hasPrefix("nonce_mismatch: ") == true)
    }
}
