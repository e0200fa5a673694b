import Foundation
import LatchkeyModel
import LatchkeyRuntime
import Synchronization

/// Holds back calls on a connection whose provider said its rate limit is spent, instead of spending them on 429s.
///
/// A call that would wait at most `maxHold` waits for the reset and then goes; a longer wait is refused at once
/// with 429 `rate_limited` and a `Retry-After`, and nothing is sent. The state is per process: replicas each
/// learn a provider's limit from their own answers.
public final class RateLimitGate: Sendable {
    private let blockedUntil = Mutex<[ConnectionID: Date]>([:])
    let maxHold: TimeInterval

    public init(maxHold: TimeInterval = 5) { self.maxHold = maxHold }

    /// Waits until `connection` may call, or throws `rate_limited`.
    public func admit(_ connection: ConnectionID, clock: any LatchkeyClock) async throws {
        guard let until = blockedUntil.withLock({ $0[connection] }) else { return }
        let wait = until.timeIntervalSince(clock.now)
        if wait <= 0 {
            blockedUntil.withLock { if $0[connection] == until { $0.removeValue(forKey: connection) } }
            return
        }
        guard wait <= maxHold else {
            var error = LatchkeyError(.rateLimited, "the provider's rate limit for this connection resets in \(Int(wait.rounded(.up))) s")
            error.retryAfter = Int(wait.rounded(.up))
            throw error
        }
        try await clock.sleep(for: .interval(wait))
    }

    /// Records that `connection` may not call before `until`.
    public func block(_ connection: ConnectionID, until: Date) {
        blockedUntil.withLock { current in
            if let existing = current[connection], existing >= until { return }
            current[connection] = until
        }
    }
}
