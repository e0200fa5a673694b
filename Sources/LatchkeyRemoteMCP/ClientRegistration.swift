import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth

/// Latchkey registering itself as a client at an authorization server (RFC 7591 dynamic client registration).
///
/// It asks for the authorization-code and refresh grants, one redirect URI (the callback) and the strongest client
/// authentication the server offers: `client_secret_basic`, then `client_secret_post`, then `none` (RFC 8414's default
/// when the server names none is `client_secret_basic`). The answer must carry a `client_id`, and a `client_secret`
/// unless the server registered a public client. Nothing of the answer but its OAuth error code is ever repeated.
struct ClientRegistration: Sendable {
    let endpoint: String
    let callbackURL: String
    let clientURI: String
    let scopes: [String]
    let method: ClientAuthMethod

    /// The client a server registered.
    struct Registered: Sendable {
        var clientID: String
        var clientSecret: String?
        var method: ClientAuthMethod
        var secretExpiresAt: Date?
    }

    init(endpoint: String, callbackURL: String, clientURI: String, scopes: [String], offered: [String]?) {
        self.endpoint = endpoint
        self.callbackURL = callbackURL
        self.clientURI = clientURI
        self.scopes = scopes
        let offered = offered ?? [ClientAuthMethod.clientSecretBasic.rawValue]
        method = [ClientAuthMethod.clientSecretBasic, .clientSecretPost, .none].first { offered.contains($0.rawValue) } ?? .clientSecretBasic
    }

    /// The registration request: JSON, no redirects, the discovery's caps.
    func request(connectTimeout: Duration, totalTimeout: Duration, maxResponseBytes: Int, addressPolicy: OutboundAddressPolicy) -> OutboundRequest {
        var metadata: [String: JSONValue] = [
            "client_name": .string("Latchkey"),
            "client_uri": .string(clientURI),
            "redirect_uris": .array([.string(callbackURL)]),
            "grant_types": .array([.string("authorization_code"), .string("refresh_token")]),
            "response_types": .array([.string("code")]),
            "token_endpoint_auth_method": .string(method.rawValue),
        ]
        if !scopes.isEmpty { metadata["scope"] = .string(scopes.joined(separator: " ")) }
        return OutboundRequest(
            method: "POST", url: endpoint,
            headers: [
                OutboundHeader(name: "Accept", value: "application/json"), OutboundHeader(name: "Content-Type", value: "application/json"),
            ],
            body: JSONValue.object(metadata).serialized(), connectTimeout: connectTimeout, totalTimeout: totalTimeout,
            maxResponseBytes: maxResponseBytes, followRedirects: false, addressPolicy: addressPolicy)
    }

    /// Reads the server's answer. An error answer is `provider_error` (4xx, with its OAuth error code) or
    /// `provider_unavailable` (5xx); a malformed success is `invalid_provider_response` naming the field.
    func registered(from response: OutboundResponse) throws(LatchkeyError) -> Registered {
        let place = "client registration at \(endpoint.prefix(200))"
        guard (200..<300).contains(response.status) else {
            if response.status >= 500 || response.status == 429 {
                throw LatchkeyError(.providerUnavailable, "\(place): the server answered HTTP \(response.status); nothing was registered")
            }
            let code = JSONValue.parse(response.body)?.objectValue?["error"]?.stringValue.map { String($0.prefix(64)) }
            throw LatchkeyError(
                .providerError, "\(place): the server refused with HTTP \(response.status)\(code.map { " (\($0))" } ?? "")",
                field: "registration_endpoint", oauthError: code)
        }
        let document = try MetadataDocument(name: "client registration", url: endpoint, body: response.body)
        let clientID = try document.string("client_id")
        let methodName = try document.optionalString("token_endpoint_auth_method") ?? method.rawValue
        guard let registeredMethod = ClientAuthMethod(rawValue: methodName) else {
            throw document.problem("token_endpoint_auth_method", "'\(methodName.prefix(40))' is not a method Latchkey can use")
        }
        let secret = try document.optionalString("client_secret")
        if registeredMethod != .none, secret?.isEmpty ?? true {
            throw document.problem("client_secret", "required for \(registeredMethod.rawValue), and missing")
        }
        var expires: Date?
        if let value = document.object["client_secret_expires_at"] {
            guard let seconds = value.numberValue, seconds >= 0 else {
                throw document.problem("client_secret_expires_at", "must be a number of seconds since 1970, or 0")
            }
            expires = seconds == 0 ? nil : Date(timeIntervalSince1970: seconds)
        }
        return Registered(clientID: clientID, clientSecret: registeredMethod == .none ? nil : secret, method: registeredMethod, secretExpiresAt: expires)
    }
}
