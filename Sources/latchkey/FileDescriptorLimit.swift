import Foundation
import Logging

/// The process's limit on open files, which bounds the connections it can hold (as nginx's `worker_rlimit_nofile`).
enum FileDescriptorLimit {
    /// Raises the soft limit so that `connections` fit with room for the store, outbound calls and files, up to the
    /// hard limit; says so when the hard limit is lower.
    static func raise(toHold connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(connections) + 1024
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < wanted {
            logger.warning("open files are limited to \(limit.rlim_cur): fewer than http_max_connections (\(connections)) may be held")
        }
    }
}
