import Foundation
import LatchkeyModel
import LatchkeyOIDC
import Testing

@Suite("JWKS handling")
struct VerificationKeysTests {
    @Test(arguments: ["", "not json", "[]", #"{"keys":{}}"#, #"{"keys":[]}"#, #"{"kty":"RSA"}"#])
    func aJWKSThatIsNotOneIsRefused(document: String) {
        let error = #expect(throws: OIDCError.self) { try Provider.verifier(jwks: Data(document.utf8)) }
        #expect(error?.code == "invalid_jwks")
    }

    @Test func aJWKSOfOnlySymmetricAndEncryptionKeysHoldsNoSigningKey() throws {
        let oct: JSONValue = .object(["kty": .string("oct"), "kid": .string("rsa-2026"), "k": .string("c2VjcmV0")])
        var encryption = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(Keys.rsa.publicJWK()))
        if case .object(var fields) = encryption {
            fields["use"] = .string("enc")
            encryption = .object(fields)
        }
        let document = try jwks([], extra: [oct, encryption])
        let error = #expect(throws: OIDCError.self) { try Provider.verifier(jwks: document) }
        #expect(error?.code == "invalid_jwks")
    }

    @Test func keysJWTKitCannotReadAreSkippedNotFatal() async throws {
        // An HMAC key under the RSA key's kid must neither break the set nor be used.
        let oct: JSONValue = .object(["kty": .string("oct"), "kid": .string("rsa-2026"), "k": .string("c2VjcmV0")])
        let unknown: JSONValue = .object(["kty": .string("RSA"), "kid": .string("x"), "alg": .string("RSA-OAEP-256")])
        let document = try jwks([Keys.rsa.publicJWK()], extra: [oct, unknown])
        let token = try await Keys.rsa.sign(Provider.claims())
        let claims = try await Provider.verifier(jwks: document).verify(token, expectedNonce: Provider.nonce)
        #expect(claims.subject == "248289761001")
    }
}
