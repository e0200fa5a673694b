import LatchkeyHTTP
import Synchronization

/// The scheme, host and port of each provider base URL the proxy has called, so that a base is parsed once rather than
/// on every call (``ProxyTarget/url(base:path:query:encodedByLatchkey:origins:)`` still parses every call's own URL).
public final class BaseOrigins: Sendable {
    public typealias Origin = (scheme: String, host: String, port: Int)
    /// Past this many bases (rendered from connections' values, they can be many), the memory starts over.
    static let capacity = 1024
    private let parsed = Mutex<[String: Origin]>([:])

    public init() {}

    /// The origin of `base`; throws as ``OutboundURLPolicy/check(_:)`` does for a base it refuses (never kept).
    public func origin(of base: String) throws -> Origin {
        if let known = parsed.withLock({ $0[base] }) { return known }
        let origin = try OutboundURLPolicy.check(base)
        parsed.withLock { parsed in
            if parsed.count >= Self.capacity { parsed.removeAll() }
            parsed[base] = origin
        }
        return origin
    }
}
