import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel

/// Which headers cross the proxy, in each direction.
public enum HeaderPolicy {
    /// Hop-by-hop headers (RFC 9110 section 7.6.1) and others that belong to one connection.
    static let hopByHop = HeaderNames(
        "connection,keep-alive,proxy-connection,te,trailer,trailers,transfer-encoding,upgrade,proxy-authenticate,proxy-authorization,host,content-length,expect"
    )
    /// Caller headers that must never reach a provider: the caller's own credentials and Latchkey's controls.
    static let callerOnly = HeaderNames("authorization,cookie,cookie2,forwarded,x-forwarded-for,x-forwarded-host,x-forwarded-proto,x-real-ip")
    /// Provider headers that never go back to a caller.
    static let providerOnly = HeaderNames("set-cookie,set-cookie2")
    /// Latchkey's own headers' prefix, which neither side may set for the other.
    static let latchkeyPrefix: StaticString = "latchkey-"
    static let connection: StaticString = "connection"
    static let keepAlive: StaticString = "keep-alive"
    static let close: StaticString = "close"

    /// The caller's headers that may be forwarded. Throws when a header holds CR, LF or NUL.
    public static func forwardable(_ headers: [OutboundHeader]) throws(LatchkeyError) -> [OutboundHeader] {
        var kept = headers
        try keepForwardable(&kept)
        return kept
    }

    /// Leaves in `headers` only the caller's headers that may be forwarded, in place (the proxy's every call: no
    /// second array, no copy of the headers kept). Throws when a header holds CR, LF or NUL.
    public static func keepForwardable(_ headers: inout [OutboundHeader]) throws(LatchkeyError) {
        // By index: the headers are read where they lie, not copied out one by one.
        for i in headers.indices where !HeaderRules.isSafe(name: headers[i].name, value: headers[i].value) {
            throw LatchkeyError(
                .invalidRequest, "headers: '\(headers[i].name.prefix(40))' holds a character that may not go in a header", field: "headers")
        }
        let named = namedInConnection(headers)
        headers.removeAll {
            hopByHop.contains($0.name) || callerOnly.contains($0.name) || OutboundHeader.name($0.name, matches: latchkeyPrefix, wholly: false)
                || isListed($0.name, in: named)
        }
    }

    /// The provider's headers that may go back to the caller: no cookies, no hop-by-hop headers, none that its
    /// `Connection` header names (they belong to the connection between the provider and Latchkey).
    public static func returnable(_ headers: [OutboundHeader]) -> [OutboundHeader] {
        var kept: [OutboundHeader] = []
        forEachReturnable(in: headers) { kept.append($0) }
        return kept
    }

    /// Calls `body` with each of the provider's headers that ``returnable(_:)`` keeps, in order, building no array.
    public static func forEachReturnable(in headers: [OutboundHeader], _ body: (OutboundHeader) -> Void) {
        let named = namedInConnection(headers)
        for i in headers.indices
        where !hopByHop.contains(headers[i].name) && !providerOnly.contains(headers[i].name)
            && !OutboundHeader.name(headers[i].name, matches: latchkeyPrefix, wholly: false) && !isListed(headers[i].name, in: named)
        {
            body(headers[i])
        }
    }

    /// Whether `name` is one of `named` (a `Connection` header's list), the case of ASCII letters aside.
    static func isListed(_ name: String, in named: [String]?) -> Bool {
        named?.contains { OutboundHeader.name(name, sameAs: $0) } == true
    }

    /// The header names that any `Connection` header lists, besides hop-by-hop ones (which never cross anyway); nil
    /// when there are none.
    static func namedInConnection(_ headers: [OutboundHeader]) -> [String]? {
        var named: [String] = []
        // Most answers have no Connection header, or one that says only `keep-alive`: nothing is kept for them, so no
        // set is built per call.
        for i in headers.indices where OutboundHeader.name(headers[i].name, matches: connection) {
            // Nearly every `Connection` says only `keep-alive` or `close`, which names no header: not split.
            let value = headers[i].value
            if OutboundHeader.name(value, matches: keepAlive) || OutboundHeader.name(value, matches: close) { continue }
            for token in value.split(separator: ",") {
                let name = token.trimmingHTTPWhitespace()
                if !hopByHop.contains(name) { named.append(name) }
            }
        }
        return named.isEmpty ? nil : named
    }
}
