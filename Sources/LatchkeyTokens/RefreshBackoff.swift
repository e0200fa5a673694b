import Foundation
import LatchkeyModel

/// Transient refresh failures per connection, and when each may be tried again: 1, 2, 4 … seconds after
/// consecutive failures, at most ``maxDelay``, each shortened by up to a fifth at random so that connections that
/// failed together do not retry together. A success forgets the connection.
public struct RefreshBackoff: Sendable {
    /// The longest wait between attempts.
    public let maxDelay: TimeInterval
    private var entries: [ConnectionID: (failures: Int, notBefore: Date)] = [:]

    public init(maxDelay: TimeInterval = 60) { self.maxDelay = maxDelay }

    /// The wait after the `failures`-th consecutive failure, with `random` in 0...1 (1 waits the full delay).
    public static func delay(failures: Int, maxDelay: TimeInterval, random: Double) -> TimeInterval {
        min(maxDelay, pow(2, Double(max(failures, 1) - 1))) * (0.8 + 0.2 * min(max(random, 0), 1))
    }

    /// When `id`'s backoff ends, if it has not ended by `now`.
    public func until(_ id: ConnectionID, now: Date) -> Date? {
        guard let until = entries[id]?.notBefore, until > now else { return nil }
        return until
    }

    /// When `id`'s backoff ends, ended or not.
    public func recorded(_ id: ConnectionID) -> Date? { entries[id]?.notBefore }

    /// Records one more failure of `id` at `now`; returns when it may be tried again.
    public mutating func failed(_ id: ConnectionID, now: Date, random: Double) -> Date {
        let failures = (entries[id]?.failures ?? 0) + 1
        let notBefore = now.addingTimeInterval(Self.delay(failures: failures, maxDelay: maxDelay, random: random))
        entries[id] = (failures, notBefore)
        return notBefore
    }

    /// `id` refreshed: its next failure starts the schedule over.
    public mutating func succeeded(_ id: ConnectionID) { entries.removeValue(forKey: id) }
}
