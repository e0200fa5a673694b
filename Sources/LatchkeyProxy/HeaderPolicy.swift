import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel

/// Which headers cross the proxy, in each direction.
public enum HeaderPolicy {
    /// Hop-by-hop headers (RFC 9110 section 7.6.1) and others that belong to one connection.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization", "host", "content-length", "expect",
    ]
    /// Caller headers that must never reach a provider: the caller's own credentials and Latchkey's controls.
    static let callerOnly: Set<String> = ["authorization", "cookie", "cookie2", "forwarded", "x-forwarded-for", "x-forwarded-host",
                                          "x-forwarded-proto", "x-real-ip"]

    /// The caller's headers that may be forwarded. Throws when a header holds CR, LF or NUL.
    public static func forwardable(_ headers: [OutboundHeader]) throws(LatchkeyError) -> [OutboundHeader] {
        let named = namedInConnection(headers)
        var out: [OutboundHeader] = []
        // Room for the manifest's headers and the credential, which the proxy adds.
        out.reserveCapacity(headers.count + 2)
        for h in headers {
            guard HeaderRules.isSafe(name: h.name, value: h.value) else {
                throw LatchkeyError(.invalidRequest, "headers: '\(h.name.prefix(40))' holds a character that may not go in a header", field: "headers")
            }
            let lower = h.name.lowercased()
            if hopByHop.contains(lower) || callerOnly.contains(lower) || lower.hasPrefix("latchkey-") || named.contains(lower) { continue }
            out.append(h)
        }
        return out
    }

    /// The provider's headers that may go back to the caller: no cookies, no hop-by-hop headers, none that its
    /// `Connection` header names (they belong to the connection between the provider and Latchkey).
    public static func returnable(_ headers: [OutboundHeader]) -> [OutboundHeader] {
        let named = namedInConnection(headers)
        return headers.filter {
            let lower = $0.name.lowercased()
            return !hopByHop.contains(lower) && !named.contains(lower) && lower != "set-cookie" && lower != "set-cookie2"
                && !lower.hasPrefix("latchkey-")
        }
    }

    /// The header names (lowercased) that any `Connection` header lists, besides hop-by-hop ones (which never cross
    /// anyway).
    static func namedInConnection(_ headers: [OutboundHeader]) -> Set<String> {
        var named: Set<String> = []
        // Most answers have no Connection header, or one that says only `keep-alive`: nothing is kept for them, so no
        // set is built per call.
        for header in headers where header.name.utf8.count == 10 && header.name.lowercased() == "connection" {
            for token in header.value.lowercased().split(separator: ",") {
                let name = token.trimmingHTTPWhitespace()
                if !hopByHop.contains(name) { named.insert(name) }
            }
        }
        return named
    }
}
