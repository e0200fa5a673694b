/// A base URL that ``OutboundURLPolicy`` allowed, parsed once, to which each call appends its path and query.
///
/// Most bases are written as curl's URL API gives them back: a lowercase scheme and host, no default port, no user, a
/// path with nothing to normalize, no query and no fragment. Appended to such a base, a path and query of plain URL
/// bytes (RFC 3986's `pchar` and `/`, and `?` in the query) without dot segments cannot move the scheme, host or port,
/// and curl would keep them byte for byte: the result's parse is the base's with the new request target, and the URL
/// is not parsed again. Any other base or suffix is parsed in full. Parsing each call's URL was 1.5 % of the proxy's
/// CPU (benchmarks/README.md); `CheckedBaseURLTests` holds the shortcut to curl's own parse.
public struct CheckedBaseURL: Sendable {
    /// The base as checked.
    public let base: CheckedURL
    /// curl's parse of the base, put back together, is the base's very text.
    let verbatim: Bool

    /// Checks `url`. Throws ``OutboundError`` as ``OutboundURLPolicy/check(_:)`` does.
    public init(_ url: String) throws {
        base = try CheckedURL(url)
        let parsed = base.parsed
        let path = parsed.requestTarget == "/" ? "" : parsed.requestTarget
        verbatim = !parsed.requestTarget.utf8.contains(UInt8(ascii: "?")) && url == "\(parsed.scheme)://\(parsed.hostHeader)\(path)"
    }

    /// The base's URL followed by `/path` (unless `path` is empty) and `?query` (unless it is nil or empty), checked.
    /// `path` has no leading slash. Throws ``OutboundError`` as ``OutboundURLPolicy/check(_:)`` does.
    public func appending(path: String, query: String?) throws -> CheckedURL {
        let query = query.flatMap { $0.isEmpty ? nil : $0 }
        var url = base.url
        if !path.isEmpty { url += "/" + path }
        if let query { url += "?" + query }
        guard verbatim, Self.isPlain(path, inQuery: false), query.map({ Self.isPlain($0, inQuery: true) }) ?? true else {
            return try CheckedURL(url)
        }
        var parsed = base.parsed
        let basePath = parsed.requestTarget == "/" ? "" : parsed.requestTarget
        let fullPath = path.isEmpty ? basePath : basePath + "/" + path
        parsed.requestTarget = (fullPath.isEmpty ? "/" : fullPath) + (query.map { "?" + $0 } ?? "")
        return CheckedURL(url: url, parsed: parsed)
    }

    /// Whether `text` holds only bytes curl keeps as they are in a path (or, `inQuery`, a query), and no dot segment
    /// (`.`, `..`, or a `%2e` anywhere) that curl would resolve.
    static func isPlain(_ text: String, inQuery: Bool) -> Bool {
        var segmentLength = 0
        var segmentDots = 0
        var last: UInt8 = 0
        var beforeLast: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"),
                UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","),
                UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "."):
                break
            case UInt8(ascii: "/"):
                if !inQuery, segmentLength > 0, segmentLength <= 2, segmentDots == segmentLength { return false }
                segmentLength = 0
                segmentDots = 0
                beforeLast = last
                last = byte
                continue
            case UInt8(ascii: "?") where inQuery:
                break
            default:
                return false
            }
            // `%2e` is a dot to whoever decodes it.
            if beforeLast == UInt8(ascii: "%"), last == UInt8(ascii: "2"), byte | 0x20 == UInt8(ascii: "e") { return false }
            segmentLength += 1
            if byte == UInt8(ascii: ".") { segmentDots += 1 }
            beforeLast = last
            last = byte
        }
        return inQuery || !(segmentLength > 0 && segmentLength <= 2 && segmentDots == segmentLength)
    }
}
