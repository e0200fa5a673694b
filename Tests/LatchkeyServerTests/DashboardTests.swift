import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

@testable import LatchkeyServer

/// The dashboard's pure parts: sessions, refresh health, the chart and the templates' escaping.
@Suite struct DashboardTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aSessionLastsUntilItExpiresOrEnds() {
        let sessions = AdminSessions(lifetime: 60)
        let (id, session) = sessions.start(now: now)
        #expect(id.count == 43 && session.csrfToken.count == 43 && id != session.csrfToken)
        #expect(sessions.session(id: id, now: now.addingTimeInterval(59))?.csrfToken == session.csrfToken)
        #expect(sessions.session(id: id, now: now.addingTimeInterval(60)) == nil)
        let (other, _) = sessions.start(now: now)
        sessions.end(id: other)
        #expect(sessions.session(id: other, now: now) == nil)
        #expect(sessions.session(id: "not-a-session", now: now) == nil)
    }

    @Test func aFlashIsShownOnce() {
        let sessions = AdminSessions()
        let (id, _) = sessions.start(now: now)
        sessions.setFlash(id: id, .init(message: "done", isError: false))
        #expect(sessions.takeFlash(id: id)?.message == "done")
        #expect(sessions.takeFlash(id: id) == nil)
    }

    @Test func csrfTokensMustMatchExactly() {
        let session = AdminSession(csrfToken: "abc123", expiresAt: now)
        for (sent, ok) in [("abc123", true), ("abc12", false), ("abc1234", false), ("", false), ("ABC123", false)] {
            #expect(DashboardForm.csrfMatches(["csrf": sent], session) == ok, "\(sent)")
        }
        #expect(!DashboardForm.csrfMatches([:], session))
    }

    @Test func refreshHealthCountsPerProviderAndHourInsideTheWindow() {
        func event(_ action: String, _ provider: String, hoursAgo: Double) -> AuditEvent {
            AuditEvent(at: now.addingTimeInterval(-hoursAgo * 3600), actor: "system", action: action, provider: ProviderID(provider))
        }
        let health = RefreshHealth(
            events: [
                event(RefreshHealth.refreshed, "a", hoursAgo: 0.1), event(RefreshHealth.refreshed, "a", hoursAgo: 0.2),
                event(RefreshHealth.failed, "a", hoursAgo: 5.5), event(RefreshHealth.refreshed, "b", hoursAgo: 23.9),
                event(RefreshHealth.refreshed, "a", hoursAgo: 24.1), event("connection.connected", "a", hoursAgo: 1),
            ], now: now)
        #expect(health.byProvider[ProviderID("a")] == .init(succeeded: 2, failed: 1))
        #expect(health.byProvider[ProviderID("b")] == .init(succeeded: 1, failed: 0))
        #expect(health.hourly[23] == .init(succeeded: 2, failed: 0))
        #expect(health.hourly[18] == .init(succeeded: 0, failed: 1))
        #expect(health.hourly[0] == .init(succeeded: 1, failed: 0))
        #expect(health.byProvider[ProviderID("a")]?.successSummary(empty: "-") == "67 % (2 of 3)")
        #expect(OutcomeCounts().successSummary(empty: "no refreshes") == "no refreshes")
    }

    @Test func proxyStatsKeepTheLastDayPerHour() {
        let stats = ProxyStats()
        let p = ProviderID("a")
        stats.record(p, at: now, failed: false)
        stats.record(p, at: now, failed: true)
        stats.record(p, at: now.addingTimeInterval(-3 * 3600), failed: false)
        stats.record(p, at: now.addingTimeInterval(-25 * 3600), failed: true)
        stats.record(ProviderID("b"), at: now, failed: true)
        let hours = stats.hourly(p, now: now)
        #expect(hours.count == 24 && hours[23] == .init(succeeded: 1, failed: 1) && hours[20] == .init(succeeded: 1, failed: 0))
        #expect(stats.total(p, now: now) == .init(succeeded: 2, failed: 1))
        #expect(stats.total(p, now: now).errorSummary(empty: "no calls") == "33 % errors (1 of 3 calls)")
    }

    @Test func theChartDrawsOneBarPerNonEmptyCount() {
        var hours = Array(repeating: RefreshHealth.Counts(), count: 24)
        hours[3] = .init(succeeded: 4, failed: 1)
        hours[20] = .init(succeeded: 0, failed: 2)
        let svg = HourlyChart(hours: hours).svg
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
        #expect(svg.components(separatedBy: "class=\"ok\"").count - 1 == 1)
        #expect(svg.components(separatedBy: "class=\"fail\"").count - 1 == 2)
    }

    @Test func pagesEscapeValues() {
        let library = DashboardPages().library
        let html = library.render(["heading": "<script>alert(1)</script>", "message": "a\"b", "code": "x"], withTemplate: "problem") ?? ""
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"))
        #expect(html.contains("a&quot;b"))
    }
}
