/// A URL that ``OutboundURLPolicy`` allowed, as libcurl's URL API parsed it.
///
/// A request that carries one for its very URL (``OutboundRequest/checkedURL``) is not parsed again by the clients:
/// the proxy checks each call's final URL before sending it, and parsing it twice was 4 % of Latchkey's work per call.
/// The clients use it only while the request's `url` is the string it was made from; any other URL is checked afresh.
public struct CheckedURL: Sendable {
    /// The URL as checked.
    public let url: String
    let parsed: ParsedURL

    /// Checks `url`. Throws ``OutboundError`` as ``OutboundURLPolicy/check(_:)`` does.
    public init(_ url: String) throws {
        self.url = url
        parsed = try OutboundURLPolicy.checked(url)
    }

    /// `url`, whose parse is known (``CheckedBaseURL`` appends to a base it has parsed).
    init(url: String, parsed: ParsedURL) {
        self.url = url
        self.parsed = parsed
    }

    /// The scheme, lowercased.
    public var scheme: String { parsed.scheme }
    /// The host, lowercased; an IPv6 literal without brackets.
    public var host: String { parsed.host }
    /// The port, the scheme's default when absent.
    public var port: Int { parsed.port }
    /// What an HTTP/1.1 request line names: the path (`/` when empty) and `?query`, as curl's URL API gives them.
    public var requestTarget: String { parsed.requestTarget }
}

extension OutboundURLPolicy {
    /// `request`'s URL, parsed and allowed: the check it carries when that was made for this very URL, else a new one.
    static func checked(_ request: OutboundRequest) throws -> ParsedURL {
        if let checked = request.checkedURL, checked.url == request.url { return checked.parsed }
        return try checked(request.url)
    }
}
