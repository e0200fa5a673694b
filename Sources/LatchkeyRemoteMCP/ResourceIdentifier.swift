import Foundation
import LatchkeyManifest
import LatchkeyModel

/// A remote MCP server's resource identifier (RFC 8707, RFC 9728): its URL in canonical form, lowercase scheme and
/// host, no default port, no fragment, no trailing slash but the root's. It is what `resource` must name, in the
/// protected resource metadata and in every authorization and token request.
public struct ResourceIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    /// The port, when not the scheme's default.
    public let port: Int?
    /// The path, `""` for the root.
    public let path: String
    public let query: String?

    /// Reads `url`, which must be `https` (or `http` to a loopback host) with a host and no user info.
    /// - Throws: `invalid_request` naming `field`.
    public init(_ url: String, field: String) throws(LatchkeyError) {
        guard URLRules.isAllowed(url), let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            let host = parts.host?.lowercased(), !host.isEmpty, parts.user == nil, parts.password == nil
        else {
            throw LatchkeyError(.invalidRequest, "\(field): '\(url.prefix(100))' is not an https URL with a host", field: field)
        }
        self.scheme = scheme
        self.host = host
        self.port = parts.port.flatMap { ($0 == 443 && scheme == "https") || ($0 == 80 && scheme == "http") ? nil : $0 }
        var path = parts.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.path = path
        self.query = parts.percentEncodedQuery
    }

    /// `scheme://host[:port]`.
    public var origin: String {
        let authority = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(authority)\(port.map { ":\($0)" } ?? "")"
    }

    public var description: String { origin + (path.isEmpty ? "/" : path) + (query.map { "?\($0)" } ?? "") }

    /// The well-known URL for `suffix` (`oauth-protected-resource`) inserted between the host and the path
    /// (RFC 9728 section 3.1, RFC 8414 section 3.1).
    public func wellKnown(_ suffix: String) -> String {
        origin + "/.well-known/" + suffix + path + (query.map { "?\($0)" } ?? "")
    }

    /// The same URL with the well-known `suffix` appended to the path (OpenID Connect Discovery's own form).
    public func appendingWellKnown(_ suffix: String) -> String { origin + path + "/.well-known/" + suffix }
}
