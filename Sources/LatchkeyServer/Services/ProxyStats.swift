import Foundation
import LatchkeyModel
import Synchronization

/// Proxied calls and their errors per provider and hour, for the dashboard's proxy health. In memory, for the
/// last 24 hours: it starts empty at each restart and counts only this process's calls.
///
/// An error is a call that Latchkey refused or could not complete (its own error) or that the provider answered
/// with a 5xx status; a provider's 4xx answer is the caller's business and counts as a completed call.
final class ProxyStats: Sendable {
    private let hours = Mutex<[ProviderID: [Int: OutcomeCounts]]>([:])
    static let window = 24

    func record(_ provider: ProviderID, at time: Date, failed: Bool) {
        let hour = Self.hour(time)
        hours.withLock { all in
            var buckets = all[provider, default: [:]]
            if failed { buckets[hour, default: OutcomeCounts()].failed += 1 } else { buckets[hour, default: OutcomeCounts()].succeeded += 1 }
            if buckets.count > Self.window { buckets = buckets.filter { $0.key > hour - Self.window } }
            all[provider] = buckets
        }
    }

    /// The last `window` hours of `provider`, oldest first, the current hour last.
    func hourly(_ provider: ProviderID, now: Date) -> [OutcomeCounts] {
        let current = Self.hour(now)
        let buckets = hours.withLock { $0[provider] ?? [:] }
        return (0..<Self.window).map { buckets[current - Self.window + 1 + $0] ?? OutcomeCounts() }
    }

    /// The totals of the last `window` hours of `provider`.
    func total(_ provider: ProviderID, now: Date) -> OutcomeCounts {
        hourly(provider, now: now).reduce(into: OutcomeCounts()) {
            $0.succeeded += $1.succeeded
            $0.failed += $1.failed
        }
    }

    static func hour(_ time: Date) -> Int { Int((time.timeIntervalSince1970 / 3600).rounded(.down)) }
}

/// Successes and failures of one kind of work (refreshes, proxied calls) in some span of time.
struct OutcomeCounts: Sendable, Equatable {
    var succeeded = 0
    var failed = 0
    var total: Int { succeeded + failed }

    /// "67 % (2 of 3)" successful, or `empty`.
    func successSummary(empty: String) -> String {
        total == 0 ? empty : "\(Self.percent(succeeded, total)) (\(succeeded) of \(total))"
    }

    /// "2 % errors (1 of 50 calls)", or `empty`.
    func errorSummary(empty: String) -> String {
        total == 0 ? empty : "\(Self.percent(failed, total)) errors (\(failed) of \(total) calls)"
    }

    static func percent(_ part: Int, _ whole: Int) -> String { "\(Int((Double(part) * 100 / Double(whole)).rounded())) %" }
}
