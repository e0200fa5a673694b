import Foundation
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore

/// Refresh health over a window, from the audit log: `connection.refreshed` against `connection.refresh_failed`,
/// per provider and per hour. Pure: the events come in, the numbers come out.
struct RefreshHealth: Sendable, Equatable {
    typealias Counts = OutcomeCounts

    static let refreshed = AuditAction.connectionRefreshed
    static let failed = AuditAction.connectionRefreshFailed

    var byProvider: [ProviderID: Counts] = [:]
    /// For one provider's chart: index 0 is the oldest hour, the last index the current hour.
    var hourly: [Counts]

    /// Counts `events` that fall in the `hours` hours before `now`.
    init(events: [AuditEvent], now: Date, hours: Int = 24) {
        hourly = Array(repeating: Counts(), count: hours)
        for event in events {
            let age = now.timeIntervalSince(event.at)
            guard age >= 0, age < Double(hours) * 3600 else { continue }
            let slot = hours - 1 - Int(age / 3600)
            let success: Bool
            switch event.action {
            case Self.refreshed: success = true
            case Self.failed: success = false
            default: continue
            }
            if success { hourly[slot].succeeded += 1 } else { hourly[slot].failed += 1 }
            if let provider = event.provider {
                if success { byProvider[provider, default: Counts()].succeeded += 1 } else { byProvider[provider, default: Counts()].failed += 1 }
            }
        }
    }

    /// Reads the window's refresh events (optionally of one provider) from the audit log.
    /// At most `cap` events of each kind are counted; a busier day is undercounted, not slow.
    static func load(from store: any AuditStore, provider: ProviderID?, now: Date, hours: Int = 24, cap: Int = 20_000) async throws -> RefreshHealth {
        let since = now.addingTimeInterval(-Double(hours) * 3600)
        var events: [AuditEvent] = []
        for action in [refreshed, failed] {
            events += try await store.events(AuditQuery(since: since, action: action.rawValue, provider: provider, limit: cap))
        }
        return RefreshHealth(events: events, now: now, hours: hours)
    }
}
