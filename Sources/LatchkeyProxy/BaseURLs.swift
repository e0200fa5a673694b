import LatchkeyHTTP
import Synchronization

/// The provider base URLs the proxy has called, each parsed once rather than on every call (``CheckedBaseURL``, which
/// parses a call's own URL again only when appending to its base could change what curl reads).
public final class BaseURLs: Sendable {
    /// Past this many bases (rendered from connections' values, they can be many), the memory starts over.
    static let capacity = 1024
    private let parsed = Mutex<[String: CheckedBaseURL]>([:])

    public init() {}

    /// `base`, checked; throws as ``OutboundURLPolicy/check(_:)`` does for a base it refuses (never kept).
    public func checked(_ base: String) throws -> CheckedBaseURL {
        if let known = parsed.withLock({ $0[base] }) { return known }
        let checked = try CheckedBaseURL(base)
        parsed.withLock { parsed in
            if parsed.count >= Self.capacity { parsed.removeAll() }
            parsed[base] = checked
        }
        return checked
    }
}
