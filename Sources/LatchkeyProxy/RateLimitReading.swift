import Foundation
import LatchkeyHTTP
import LatchkeyManifest

/// Reads a provider's rate-limit headers (as the manifest names them) to learn when calls may go again.
public enum RateLimitReading {
    /// When the response says no calls remain, the time the window resets; otherwise nil.
    /// A list such as `1, 15000` (several windows) is read by its first value.
    public static func exhaustedUntil(_ spec: RateLimitSpec, response: OutboundResponse, now: Date) -> Date? {
        guard let remainingText = response.header(spec.remainingHeader).map(firstValue), let remaining = Double(remainingText),
            remaining <= 0, let resetText = response.header(spec.resetHeader).map(firstValue), let reset = Double(resetText)
        else { return nil }
        switch spec.resetFormat {
        case .epochSeconds: return Date(timeIntervalSince1970: reset)
        case .deltaSeconds: return now.addingTimeInterval(reset)
        }
    }

    /// After a 429, the time its `Retry-After` names; nil when it names none.
    public static func retryAfterUntil(_ response: OutboundResponse, now: Date) -> Date? {
        guard response.status == 429, let value = response.header("Retry-After"),
            let wait = RetryPolicy.parseRetryAfter(value, now: now)
        else { return nil }
        return now.addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
    }

    static func firstValue(_ text: String) -> String {
        String(text.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)
    }
}
