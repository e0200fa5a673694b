import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel

extension LatchkeyError {
    /// The typed error for a failed outbound call, naming the step; never the URL's query or any header.
    public init(outbound error: OutboundError, step: String, limit: Int) {
        switch error.code {
        case .timeout: self.init(.providerTimeout, "\(step): the provider did not answer in time")
        case .connectFailed: self.init(.providerUnavailable, "\(step): the provider could not be reached")
        case .responseTooLarge: self.init(.invalidProviderResponse, "\(step): the provider's answer exceeded \(limit) bytes")
        case .insecureURL, .invalidURL: self.init(.invalidRequest, "\(step): \(error.message)")
        case .refusedAddress:
            self.init(.invalidRequest, "\(step): \(error.message); an admin can allow its network (mcp_allowed_networks)")
        case .tlsFailed: self.init(.providerUnavailable, "\(step): TLS with the provider failed")
        case .cancelled: self.init(.providerUnavailable, "\(step): the call was cancelled")
        case .transport: self.init(.providerUnavailable, "\(step): \(error.message)")
        }
    }
}

/// Talks to providers for the OAuth flows: code exchange and identity lookup. All I/O goes through
/// the injected `HTTPTransport` (libcurl in production).
public struct OAuthClient: Sendable {
    let transport: any HTTPTransport
    let now: @Sendable () -> Date
    /// Timeouts and size cap for calls to token and identity endpoints.
    public var connectTimeout: Duration = .seconds(5)
    public var totalTimeout: Duration = .seconds(15)
    public var maxResponseBytes = 1 << 20
    /// The addresses that endpoints a server's own metadata named may reach (``OAuth2Spec/endpointsDiscovered``).
    public var discoveredEndpointAddresses = OutboundAddressPolicy.publicOnly(allowing: [])

    public init(transport: any HTTPTransport, now: @escaping @Sendable () -> Date = Date.init) {
        self.transport = transport
        self.now = now
    }

    /// Sends a request to a provider, mapping transport failures to typed errors that name the step.
    func send(_ request: OutboundRequest, step: String) async throws(LatchkeyError) -> OutboundResponse {
        var request = request
        request.connectTimeout = connectTimeout
        request.totalTimeout = totalTimeout
        request.maxResponseBytes = maxResponseBytes
        request.followRedirects = false
        do {
            return try await transport.send(request)
        } catch let error as OutboundError {
            throw LatchkeyError(outbound: error, step: step, limit: maxResponseBytes)
        } catch {
            throw LatchkeyError(.providerUnavailable, "\(step): the call failed")
        }
    }

    /// Calls a token endpoint with `params`, authenticating the client as the manifest says, and parses the grant.
    func tokenRequest(
        spec: OAuth2Spec, app: AppCredentials, params: [(String, String)], config: [String: String], step: String
    ) async throws(LatchkeyError) -> TokenGrant {
        guard let url = spec.tokenURL.render(config) else {
            throw LatchkeyError(.invalidRequest, "\(step): token_url needs connection values that were not given")
        }
        var params = params
        var headers = [OutboundHeader(name: "Accept", value: "application/json")]
        for key in spec.tokenParams.keys.sorted() { params.append((key, spec.tokenParams[key]!)) }
        Self.authenticateClient(spec, app: app, params: &params, headers: &headers)
        let body: [UInt8]
        switch spec.tokenRequestFormat {
        case .form:
            headers.append(OutboundHeader(name: "Content-Type", value: "application/x-www-form-urlencoded"))
            body = Array(FormEncoding.encode(params).utf8)
        case .json:
            headers.append(OutboundHeader(name: "Content-Type", value: "application/json"))
            var object: [String: JSONValue] = [:]
            for (k, v) in params { object[k] = .string(v) }
            body = JSONValue.object(object).serialized()
        }
        let request = OutboundRequest(
            method: "POST", url: url, headers: headers, body: body,
            addressPolicy: spec.endpointsDiscovered ? discoveredEndpointAddresses : .any)
        let response = try await send(request, step: step)
        return try interpretTokenResponse(response, spec: spec, step: step)
    }

    /// Authenticates the client as RFC 6749 section 2.3.1 says: HTTP basic with the form-encoded id and secret,
    /// or both in the request body; a public client sends its id alone.
    static func authenticateClient(
        _ spec: OAuth2Spec, app: AppCredentials, params: inout [(String, String)], headers: inout [OutboundHeader]
    ) {
        switch spec.clientAuth {
        case .clientSecretBasic:
            let pair = FormEncoding.percentEncode(app.clientID) + ":" + FormEncoding.percentEncode(app.clientSecret ?? "")
            headers.append(OutboundHeader(name: "Authorization", value: "Basic " + Base64.standard(Array(pair.utf8))))
            if spec.clientIDInBody { params.append(("client_id", app.clientID)) }
        case .clientSecretPost:
            params.append(("client_id", app.clientID))
            if let secret = app.clientSecret { params.append(("client_secret", secret)) }
        case .none:
            params.append(("client_id", app.clientID))
        }
    }

    func interpretTokenResponse(_ response: OutboundResponse, spec: OAuth2Spec, step: String) throws(LatchkeyError) -> TokenGrant {
        let json = JSONValue.parse(response.body)
        if !(200..<300).contains(response.status) {
            if case .object(let object)? = json, var error = TokenResponseParser.oauthError(in: object) {
                error.message = "\(step): \(error.message)"
                throw error
            }
            if response.status >= 500 || response.status == 429 {
                throw LatchkeyError(.providerUnavailable, "\(step): the provider answered HTTP \(response.status)")
            }
            throw LatchkeyError(.providerError, "\(step): the provider answered HTTP \(response.status) without an OAuth error")
        }
        do {
            return try TokenResponseParser.parse(response.body, paths: spec.tokenResponse, defaultLifetime: spec.defaultTokenLifetime, now: now())
        } catch {
            var error = error
            error.message = "\(step): \(error.message)"
            throw error
        }
    }

    /// Exchanges an authorization code (RFC 6749 section 4.1.3), sending the PKCE verifier when there is one.
    public func exchangeCode(
        spec: OAuth2Spec, app: AppCredentials, code: String, verifier: String?, redirectURI: String, config: [String: String]
    ) async throws(LatchkeyError) -> TokenGrant {
        var params: [(String, String)] = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI)]
        if let verifier { params.append(("code_verifier", verifier)) }
        if let resource = spec.resource { params.append(("resource", resource)) }
        return try await tokenRequest(spec: spec, app: app, params: params, config: config, step: "code exchange")
    }

    /// Learns the account a credential belongs to, from the token response or the identity URL.
    public func identity(
        spec: IdentitySpec, credential: Credential, injection: Injection?, extraHeaders: [String: String],
        tokenResponse: JSONValue?, values: [String: String]
    ) async throws(LatchkeyError) -> AccountIdentity {
        let json: JSONValue
        switch spec.source {
        case .tokenResponse:
            guard let tokenResponse else {
                throw LatchkeyError(.invalidProviderResponse, "identity: no token response to read the account from")
            }
            json = tokenResponse
        case .request(let urlTemplate, let method, let headers, let body):
            guard let url = urlTemplate.render(values) else {
                throw LatchkeyError(.invalidRequest, "identity: the identity URL needs connection values that were not given")
            }
            var request = OutboundRequest(method: method, url: url, headers: [OutboundHeader(name: "Accept", value: "application/json")])
            for (k, v) in extraHeaders.merging(headers, uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
                request.headers.append(OutboundHeader(name: k, value: v))
            }
            if let body {
                request.body = Array(body.utf8)
                request.headers.append(OutboundHeader(name: "Content-Type", value: "application/json"))
            }
            if let injection { try CredentialInjection.apply(injection, credential: credential, to: &request) }
            let response = try await send(request, step: "identity lookup")
            if response.status == 401 || response.status == 403 {
                throw LatchkeyError(.invalidAPIKey, "identity lookup: the provider refused the credential (HTTP \(response.status))")
            }
            guard (200..<300).contains(response.status) else {
                throw LatchkeyError(
                    response.status >= 500 ? .providerUnavailable : .providerError,
                    "identity lookup: the provider answered HTTP \(response.status)")
            }
            guard let parsed = JSONValue.parse(response.body) else {
                throw LatchkeyError(.invalidProviderResponse, "identity lookup: the provider did not answer with JSON")
            }
            json = parsed
        }
        guard let id = json.value(atPath: spec.idPath)?.scalarText, !id.isEmpty else {
            throw LatchkeyError(.invalidProviderResponse, "identity lookup: no account id at '\(spec.idPath)'")
        }
        let name = spec.namePath.flatMap { json.value(atPath: $0)?.scalarText }
        return AccountIdentity(id: id, name: name)
    }
}
