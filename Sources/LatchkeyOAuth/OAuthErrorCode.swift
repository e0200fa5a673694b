/// An OAuth error code a provider answered with (RFC 6749 §5.2 for the token endpoint, §4.1.2.1 for the
/// authorization endpoint), typed so that decisions never compare strings. A code outside the RFC is kept as `other`.
public enum OAuthErrorCode: Equatable, Sendable {
    case invalidRequest
    case invalidClient
    case invalidGrant
    case unauthorizedClient
    case unsupportedGrantType
    case invalidScope
    case accessDenied
    case temporarilyUnavailable
    case serverError
    case other(String)

    public init(_ raw: String) {
        self =
            switch raw {
            case "invalid_request": .invalidRequest
            case "invalid_client": .invalidClient
            case "invalid_grant": .invalidGrant
            case "unauthorized_client": .unauthorizedClient
            case "unsupported_grant_type": .unsupportedGrantType
            case "invalid_scope": .invalidScope
            case "access_denied": .accessDenied
            case "temporarily_unavailable": .temporarilyUnavailable
            case "server_error": .serverError
            default: .other(raw)
            }
    }

    /// Whether a refresh that failed with this code can never succeed without a person connecting again: the refresh
    /// token is invalid, expired or revoked (`invalid_grant`), or this client may no longer use it
    /// (`unauthorized_client`), RFC 6749 §5.2. Anything else (a bad request of ours, a server error) is transient.
    public var endsTheGrant: Bool { self == .invalidGrant || self == .unauthorizedClient }
}
