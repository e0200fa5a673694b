import Foundation
internal import JWTKit

/// The claims of an ID token as they arrive, before any is trusted.
///
/// Every claim is optional here so that the verifier can say which one is missing; `aud` may be a
/// string or an array (RFC 7519 §4.1.3), and `email_verified` a boolean or the string `"true"`,
/// as some providers send it.
struct IDTokenPayload: JWTPayload {
    var iss: String?
    var sub: String?
    var aud: Audience?
    var azp: String?
    var exp: Double?
    var iat: Double?
    var nbf: Double?
    var nonce: String?
    var email: String?
    var emailVerified: LenientBool?
    var name: String?

    private enum CodingKeys: String, CodingKey {
        case iss, sub, aud, azp, exp, iat, nbf, nonce, email, name
        case emailVerified = "email_verified"
    }

    /// Checks nothing. jwt-kit calls this after the signature verifies, and would read the real
    /// clock; the verifier checks every claim itself against its injected `now` instead.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// `aud`: one audience as a string, or several as an array.
    struct Audience: Codable, Sendable {
        var values: [String]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                values = [one]
            } else {
                values = try container.decode([String].self)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(values)
        }
    }

    /// A boolean that may also arrive as the string `"true"`; anything else reads as false, since
    /// an unverified email is the safe reading and no reason to refuse the whole token.
    struct LenientBool: Codable, Sendable {
        var value: Bool

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bool = try? container.decode(Bool.self) {
                value = bool
            } else {
                value = (try? container.decode(String.self))?.lowercased() == "true"
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(value)
        }
    }
}
