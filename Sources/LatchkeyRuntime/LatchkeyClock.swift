import Foundation

/// The time and the waiting of every service, passed in so that tests move time instead of waiting for it.
///
/// Services read `now` for every decision that depends on time (expiry, leases, backoff, retries) and wait with
/// `sleep`, never with `Date()` or `Task.sleep` directly. ``SystemClock`` is the real one; ``ManualClock`` moves
/// only when a test advances it.
public protocol LatchkeyClock: Sendable {
    /// The wall-clock time now.
    var now: Date { get }
    /// Returns after `duration` of this clock's time has passed; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The system's wall clock, and `Task.sleep` for waiting.
public struct SystemClock: LatchkeyClock {
    public init() {}
    public var now: Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

extension Duration {
    /// The duration in seconds, as `Foundation` counts time.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// `interval` seconds, to the millisecond (negative intervals are zero).
    public static func interval(_ interval: TimeInterval) -> Duration { .milliseconds(Int64((max(interval, 0) * 1000).rounded(.up))) }

    /// Whole nanoseconds (for histograms and NIO's time amounts), saturating at `Int64`'s bounds.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
