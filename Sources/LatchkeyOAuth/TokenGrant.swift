import Foundation
import LatchkeyManifest
import LatchkeyModel

/// What a token endpoint granted, parsed from its response.
public struct TokenGrant: Sendable {
    public var accessToken: String
    public var refreshToken: String?
    public var tokenType: String?
    /// When the access token expires; nil when the provider documents non-expiring tokens.
    public var expiresAt: Date?
    /// The granted scopes, when the response named them.
    public var scopes: [String]?
    /// Values the manifest saves from the response (such as `instance_url`).
    public var saved: [String: String]
    /// The whole response, for identities read from it. Holds secrets: never log or store it.
    public var raw: JSONValue

    public var credential: Credential {
        Credential(accessToken: accessToken, refreshToken: refreshToken, tokenType: tokenType)
    }
}

extension TokenGrant: CustomStringConvertible {
    public var description: String { "TokenGrant(redacted, expires_at: \(expiresAt.map { "\($0)" } ?? "never"))" }
}

/// Tolerant parsing of token responses: nested or renamed fields, string or numeric `expires_in`
/// in seconds or milliseconds, comma- or space-separated scopes, and OAuth errors inside 200 answers (Slack).
public enum TokenResponseParser {
    /// Parses a successful-looking response body. Throws a `provider_error` carrying the RFC 6749 code when the
    /// body is an OAuth error, and `invalid_provider_response` when it is not JSON or lacks an access token.
    public static func parse(_ body: [UInt8], paths: TokenResponsePaths, defaultLifetime: Int?, now: Date) throws(LatchkeyError) -> TokenGrant {
        guard let json = JSONValue.parse(body), case .object(let object) = json else {
            throw LatchkeyError(.invalidProviderResponse, "the token endpoint did not answer with a JSON object")
        }
        if let error = oauthError(in: object) { throw error }
        guard let access = json.value(atPath: paths.accessToken)?.stringValue, !access.isEmpty else {
            throw LatchkeyError(.invalidProviderResponse, "the token response has no access token at '\(paths.accessToken)'")
        }
        let refresh = json.value(atPath: paths.refreshToken)?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let tokenType = json.value(atPath: paths.tokenType)?.stringValue
        var expiresAt: Date?
        if let seconds = expirySeconds(json.value(atPath: paths.expiresIn), unit: paths.expiresInUnit) {
            expiresAt = now.addingTimeInterval(seconds)
        } else if let exp = JWTClaims.expiry(of: access) {
            expiresAt = exp
        } else if let defaultLifetime {
            expiresAt = now.addingTimeInterval(TimeInterval(defaultLifetime))
        }
        var scopes: [String]?
        switch json.value(atPath: paths.scope) {
        case .string(let s): scopes = splitScopes(s)
        case .array(let a): scopes = a.compactMap(\.stringValue)
        default: scopes = nil
        }
        var saved: [String: String] = [:]
        for (name, path) in paths.save {
            if let v = json.value(atPath: path)?.scalarText { saved[name] = v }
        }
        return TokenGrant(
            accessToken: access, refreshToken: refresh, tokenType: tokenType, expiresAt: expiresAt, scopes: scopes,
            saved: saved, raw: json)
    }

    /// The OAuth error in a response object (RFC 6749 section 5.2), including Slack's `{"ok": false, "error": ...}`.
    public static func oauthError(in object: [String: JSONValue]) -> LatchkeyError? {
        guard let code = object["error"]?.stringValue else { return nil }
        if case .bool(true) = object["ok"] { return nil }
        let description = object["error_description"]?.stringValue.map { ": \(String($0.prefix(200)))" } ?? ""
        return LatchkeyError(.providerError, "the provider answered \(code.prefix(64))\(description)", oauthError: String(code.prefix(64)))
    }

    /// A lifetime in seconds from a number or a numeric string; nil when absent, zero or malformed.
    static func expirySeconds(_ value: JSONValue?, unit: TokenResponsePaths.ExpiryUnit) -> TimeInterval? {
        let raw: Double? =
            switch value {
            case .number(let n): n
            case .string(let s): Double(s.trimmingCharacters(in: .whitespaces))
            default: nil
            }
        guard let raw, raw > 0, raw.isFinite else { return nil }
        return unit == .milliseconds ? raw / 1000 : raw
    }

    /// Splits a scope string on spaces and commas.
    public static func splitScopes(_ s: String) -> [String] {
        s.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
    }
}

/// Reads the `exp` claim of a JWT access token without verifying it: used only to infer an expiry
/// when the provider omitted `expires_in`, never to trust the token.
enum JWTClaims {
    static func expiry(of token: String) -> Date? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(String(parts[1])), let json = JSONValue.parse(payload),
            case .number(let exp)? = json.value(atPath: "exp"), exp > 0
        else { return nil }
        return Date(timeIntervalSince1970: exp)
    }
}
