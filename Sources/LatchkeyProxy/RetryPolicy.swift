import Foundation

/// When a proxied call is tried again: 429, 502, 503 and 504, for idempotent methods (or any method when the
/// manifest allows it), at most `maxAttempts` times in all, with exponential backoff and full jitter, honouring
/// `Retry-After` up to `maxRetryAfter`. The whole call waits at most `maxTotalDelay` between attempts.
public struct RetryPolicy: Sendable {
    public var maxAttempts = 3
    public var baseDelay: Duration = .milliseconds(200)
    public var maxDelay: Duration = .seconds(2)
    public var maxRetryAfter: Duration = .seconds(5)
    public var maxTotalDelay: Duration = .seconds(6)

    public static let retryableStatuses: Set<Int> = [429, 502, 503, 504]
    public static let idempotentMethods: Set<String> = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]

    public init() {}

    /// No retries at all (the caller asked for none with `Latchkey-Retry: off`).
    public static var none: RetryPolicy {
        var p = RetryPolicy()
        p.maxAttempts = 1
        return p
    }

    /// The delay before attempt `attempt + 1`, or nil to stop. `attempt` counts from 1; `waited` is the delay so far.
    /// `retryAfter` (the answer's `Retry-After`), `now` (for a `Retry-After` date) and `random` (the jitter, in 0...1)
    /// are read only when a retry is due: every proxied call asks, and drawing the jitter each time was a `getrandom`
    /// system call per call.
    public func delay(
        afterAttempt attempt: Int, status: Int, method: String, retryAfter: @autoclosure () -> String?, waited: Duration,
        anyMethod: Bool = false,
        now: @autoclosure () -> Date = Date(), random: @autoclosure () -> Double = Double.random(in: 0...1)
    ) -> Duration? {
        guard attempt < maxAttempts, Self.retryableStatuses.contains(status) else { return nil }
        guard anyMethod || Self.idempotentMethods.contains(method.uppercased()) else { return nil }
        var delay: Duration
        if let retryAfter = retryAfter(), let asked = Self.parseRetryAfter(retryAfter, now: now()) {
            guard asked <= maxRetryAfter else { return nil }  // the provider asked for longer than we wait: hand back its answer
            delay = asked
        } else {
            let exponential = baseDelay * (1 << (attempt - 1))
            delay = min(exponential, maxDelay) * random()
        }
        guard waited + delay <= maxTotalDelay else { return nil }
        return delay
    }

    /// `Retry-After` as seconds or an HTTP date (RFC 9110 section 10.2.3).
    public static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSince(now) * 1000)))
    }
}
