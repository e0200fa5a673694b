import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which URLs outbound requests may reach.
///
/// `https` always; `http` only when the host is loopback: `127.0.0.0/8` (curl normalizes
/// `127.1` and `0x7f000001` to dotted quads first), `::1` in any spelling, or `localhost`
/// (which curl resolves to loopback without DNS). Anything else,
/// other schemes included, is refused with ``OutboundError/Code/insecureURL`` before any I/O.
///
/// The URL is parsed with libcurl's own URL API, the same parser the transfer uses,
/// so the policy and the connection cannot disagree about the host.
public enum OutboundURLPolicy {
    /// Checks `url` and returns its scheme and host (both lowercased, an IPv6 literal without
    /// brackets) and its port (the scheme's default when absent).
    ///
    /// - Throws: ``OutboundError`` `.invalidURL` when the URL does not parse or has no host,
    ///   `.insecureURL` when the policy refuses it. The message never holds the path or query.
    public static func check(_ url: String) throws -> (scheme: String, host: String, port: Int) {
        let parsed = try checked(url)
        return (parsed.scheme, parsed.host, parsed.port)
    }

    /// ``check(_:)``, returning the parsed URL.
    static func checked(_ url: String) throws -> ParsedURL {
        let parsed = try ParsedURL(url)
        switch parsed.scheme {
        case "https":
            return parsed
        case "http" where isLoopback(parsed.host):
            return parsed
        case "http":
            throw OutboundError(
                code: .insecureURL,
                message: "plain http is allowed only to a loopback host, not \(parsed.origin)"
            )
        default:
            throw OutboundError(code: .insecureURL, message: "scheme \(parsed.scheme) is not allowed; use https")
        }
    }

    /// Whether `host` (lowercased, IPv6 without brackets) is a loopback name or address.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        if let octets = dottedQuad(host) { return octets[0] == 127 }
        return isIPv6Loopback(host)
    }

    /// The four octets of a strict dotted-quad IPv4 address: four decimal parts, no leading zeros.
    /// curl's URL API has already rewritten shorthand forms (`127.1`, `0x7f000001`) as dotted
    /// quads; anything still not strict is not treated as loopback, which can only refuse, never allow.
    static func dottedQuad(_ host: String) -> [Int]? {
        // One pass over the bytes (every proxied call asks, for its URL's host).
        var octets: [Int] = []
        octets.reserveCapacity(4)
        var value = 0
        var digits = 0
        var leadingZero = false
        for byte in host.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1, leadingZero { return nil }  // no leading zeros
                if digits == 0 { leadingZero = byte == UInt8(ascii: "0") }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, value <= 255 else { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, octets.count < 3 else { return nil }
                octets.append(value)
                value = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, octets.count == 3 else { return nil }
        octets.append(value)
        return octets
    }

    private static func isIPv6Loopback(_ host: String) -> Bool {
        guard let bytes = ipv6Bytes(host) else { return false }
        return bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
    }

    /// The 16 bytes of a textual IPv6 address (no zone); nil for anything else.
    static func ipv6Bytes(_ host: String) -> [UInt8]? {
        guard host.contains(":"), !host.contains("%") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}

/// A URL as libcurl's URL API sees it.
struct ParsedURL: Sendable {
    let scheme: String
    let host: String
    let port: Int
    /// The request target of an HTTP/1.1 request line: the path (`/` when empty) and `?query` when there is one,
    /// as curl's URL API normalized them (the same bytes curl would send).
    var requestTarget: String

    /// The `Host` header's value: the host (an IPv6 literal in brackets), and `:port` unless it is the scheme's default.
    /// Made with the parse, so that a call built on a parsed base (``CheckedBaseURL``) does not make it again.
    let hostHeader: String

    /// `scheme://host:port`, safe to show in messages.
    var origin: String {
        host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }

    /// Whether `other` has the same scheme, host and port (RFC 6454 origin).
    func isSameOrigin(as other: ParsedURL) -> Bool {
        scheme == other.scheme && host == other.host && port == other.port
    }

    init(_ url: String) throws {
        let invalid = OutboundError(code: .invalidURL, message: "the URL does not parse as an absolute URL")
        guard let handle = curl_url() else { throw invalid }
        defer { curl_url_cleanup(handle) }
        // NON_SUPPORT_SCHEME: parse any scheme, so that ftp:// is refused as insecure, not malformed.
        guard curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK,
            let scheme = Self.part(handle, CURLUPART_SCHEME),
            var host = Self.part(handle, CURLUPART_HOST), !host.isEmpty
        else { throw invalid }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        let port = Self.part(handle, CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)).flatMap { Int($0) }
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        // A scheme curl does not know has no default port; such URLs are refused by the policy anyway.
        self.port = port ?? 0
        let name = self.host.contains(":") ? "[\(self.host)]" : self.host
        hostHeader = self.port == (self.scheme == "https" ? 443 : 80) ? name : "\(name):\(self.port)"
        let path = Self.part(handle, CURLUPART_PATH) ?? "/"
        let query = Self.part(handle, CURLUPART_QUERY)
        self.requestTarget = (path.isEmpty ? "/" : path) + (query.map { "?\($0)" } ?? "")
    }

    /// The parts of `url` that may carry secrets (path, query, fragment, user info), non-empty ones only: what curl's
    /// error texts must not show. Read only when a curl transfer is set up, not on every parse.
    static func sensitiveParts(of url: String) -> [String] {
        guard let handle = curl_url() else { return [url] }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK else { return [url] }
        return [CURLUPART_PATH, CURLUPART_QUERY, CURLUPART_FRAGMENT, CURLUPART_USER, CURLUPART_PASSWORD]
            .compactMap { part(handle, $0) }
            .filter { !$0.isEmpty && $0 != "/" }
    }

    /// `location` (a `Location` header's value) resolved against `base` as RFC 3986 says, by curl's URL API; nil when it
    /// does not resolve.
    static func resolve(_ location: String, against base: String) -> String? {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, base, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK,
            curl_url_set(handle, CURLUPART_URL, location, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK
        else { return nil }
        return part(handle, CURLUPART_URL)
    }

    private static func part(_ handle: OpaquePointer, _ part: CURLUPart, flags: UInt32 = 0) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, part, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
