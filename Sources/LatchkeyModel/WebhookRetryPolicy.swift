import Foundation

/// Where a webhook delivery stands.
public enum WebhookDeliveryStatus: String, Sendable, Codable, CaseIterable {
    /// Not delivered yet: waiting for its first attempt or for a retry.
    case pending
    /// A receiver answered 2xx.
    case delivered
    /// Every attempt failed (or one failed in a way no retry can fix); no more attempts.
    case failed
}

/// What follows one attempt to deliver a webhook: done, retry later, or give up.
///
/// The schedule is exponential: after the first failed attempt wait `firstDelay`, then twice as long after each
/// further failure, never more than `maxDelay`. Each wait is shortened by up to `jitter` (a fraction) at random, so
/// receivers that failed together are not retried in lockstep. After `maxAttempts` attempts the delivery is
/// `failed`. With the defaults: about 1 s, 2 s, 4 s … 256 s, then 5 min, for 15 attempts over about half an hour.
public struct WebhookRetryPolicy: Sendable, Equatable {
    public var firstDelay: TimeInterval
    public var maxDelay: TimeInterval
    public var maxAttempts: Int
    public var jitter: Double

    public init(firstDelay: TimeInterval = 1, maxDelay: TimeInterval = 300, maxAttempts: Int = 15, jitter: Double = 0.2) {
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
        self.maxAttempts = maxAttempts
        self.jitter = jitter
    }

    /// The decision after an attempt.
    public enum Decision: Sendable, Equatable {
        case delivered
        case retry(at: Date)
        case failed
    }

    /// Decides after attempt number `attempt` (1 for the first). `permanent` marks a failure that a retry cannot fix
    /// (the signing secret no longer opens). `random` is in `0..<1`; it picks the jitter.
    public func decide(attempt: Int, succeeded: Bool, permanent: Bool = false, at now: Date, random: Double) -> Decision {
        if succeeded { return .delivered }
        if permanent || attempt >= maxAttempts { return .failed }
        let wait = delay(afterFailedAttempt: attempt) * (1 - jitter * min(max(random, 0), 1))
        return .retry(at: now.addingTimeInterval(wait))
    }

    /// The wait after failed attempt number `attempt`, before jitter.
    public func delay(afterFailedAttempt attempt: Int) -> TimeInterval {
        min(maxDelay, firstDelay * pow(2, Double(min(max(attempt - 1, 0), 62))))
    }
}
