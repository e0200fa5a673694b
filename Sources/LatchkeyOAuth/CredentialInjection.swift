import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel

/// Puts a credential on an outbound request as the manifest's `proxy.inject` says.
public enum CredentialInjection {
    static let authorization = Array("authorization".utf8)

    /// The value a credential offers to injection formats under `name`; nil for a name it does not offer.
    static func value(_ name: String, of credential: Credential) -> String? {
        switch name {
        case "access_token": credential.accessToken
        case "api_key": credential.apiKey
        case "username": credential.username ?? ""
        case "password": credential.password ?? ""
        default: nil
        }
    }

    /// Applies `injection` to `request`. Throws `invalid_request` when the credential lacks what the format needs.
    public static func apply(_ injection: Injection, credential: Credential, to request: inout OutboundRequest) throws(LatchkeyError) {
        func fill(_ format: PlaceholderTemplate) throws(LatchkeyError) -> String {
            guard let text = format.render({ value($0, of: credential) }) else {
                throw LatchkeyError(.invalidRequest, "the stored credential does not fit the manifest's inject format")
            }
            guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw LatchkeyError(.invalidRequest, "the stored credential holds characters that cannot go in a header")
            }
            return text
        }
        switch injection {
        case .header(let name, let format):
            request.headers.removeAll { OutboundHeader.name($0.name, sameAs: name) }
            request.headers.append(OutboundHeader(name: name, value: try fill(format)))
        case .query(let name, let format):
            let value = try fill(format)
            request.url += (request.url.contains("?") ? "&" : "?") + FormEncoding.percentEncode(name) + "=" + FormEncoding.percentEncode(value)
        case .basic(let username, let password):
            let pair = try fill(username) + ":" + (try fill(password))
            request.headers.removeAll { OutboundHeader.name($0.name, matches: Self.authorization) }
            request.headers.append(OutboundHeader(name: "Authorization", value: "Basic " + Base64.standard(Array(pair.utf8))))
        }
    }
}

/// Standard padded base64, for HTTP basic auth.
enum Base64 {
    static func standard(_ bytes: [UInt8]) -> String {
        var s = Base64URL.encode(bytes).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return s
    }
}
