import Foundation
import LatchkeyModel
import Testing

@Suite("Webhook retries")
struct WebhookRetryPolicyTests {
    let policy = WebhookRetryPolicy()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aSuccessfulAttemptIsDelivered() {
        #expect(policy.decide(attempt: 1, succeeded: true, at: now, random: 0.5) == .delivered)
        #expect(policy.decide(attempt: 14, succeeded: true, at: now, random: 0.5) == .delivered)
    }

    @Test(arguments: [(1, 1.0), (2, 2), (3, 4), (4, 8), (9, 256), (10, 300), (14, 300)])
    func failuresBackOffExponentiallyUpToFiveMinutes(attempt: Int, seconds: Double) {
        #expect(policy.delay(afterFailedAttempt: attempt) == seconds)
        // No jitter drawn: the whole delay; the most jitter: 20% shorter.
        #expect(policy.decide(attempt: attempt, succeeded: false, at: now, random: 0) == .retry(at: now + seconds))
        #expect(policy.decide(attempt: attempt, succeeded: false, at: now, random: 1) == .retry(at: now + seconds * 0.8))
    }

    @Test func theFifteenthFailureGivesUp() {
        #expect(policy.decide(attempt: 15, succeeded: false, at: now, random: 0) == .failed)
        let total = (1..<15).map { policy.delay(afterFailedAttempt: $0) }.reduce(0, +)
        #expect(total == 511 + 5 * 300)  // about 34 minutes from the first attempt to the last
    }

    @Test func aPermanentFailureGivesUpAtOnce() {
        #expect(policy.decide(attempt: 1, succeeded: false, permanent: true, at: now, random: 0) == .failed)
    }
}
