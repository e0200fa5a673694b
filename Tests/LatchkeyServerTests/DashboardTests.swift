import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore
import LatchkeyStoreSQLite
import Testing

@testable import LatchkeyServer

/// The dashboard's pure parts: sessions, refresh health, the chart and the templates' escaping.
@Suite struct DashboardTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A fresh SQLite store: what replicas share, here shared by two `AdminSessions` or `ProxyStats`.
    func makeStore() throws -> SQLiteStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-dashboard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try SQLiteStore(path: dir.appendingPathComponent("test.db").path)
    }

    @Test func aSessionLastsUntilItExpiresOrEnds() async throws {
        let sessions = AdminSessions(store: try makeStore(), lifetime: 60)
        let (id, session) = try await sessions.start(now: now)
        #expect(id.count == 43 && session.csrfToken.count == 43 && id != session.csrfToken)
        #expect(try await sessions.session(id: id, now: now.addingTimeInterval(59))?.csrfToken == session.csrfToken)
        #expect(try await sessions.session(id: id, now: now.addingTimeInterval(60)) == nil)
        let (other, _) = try await sessions.start(now: now)
        try await sessions.end(id: other)
        #expect(try await sessions.session(id: other, now: now) == nil)
        #expect(try await sessions.session(id: "not-a-session", now: now) == nil)
    }

    @Test func aSessionStartedByOneReplicaIsKnownToAnotherUntilEitherEndsIt() async throws {
        let store = try makeStore()
        let one = AdminSessions(store: store), two = AdminSessions(store: store)
        let (id, session) = try await one.start(now: now)
        #expect(try await two.session(id: id, now: now)?.csrfToken == session.csrfToken)
        try await two.setFlash(id: id, .init(message: "done", isError: false))
        #expect(try await one.takeFlash(id: id)?.message == "done")
        try await two.end(id: id)
        #expect(try await one.session(id: id, now: now) == nil)
    }

    @Test func theCSRFTokenIsDerivedFromTheIdAndNotFromWhatIsStored() async throws {
        let sessions = AdminSessions(store: try makeStore())
        let (a, sessionA) = try await sessions.start(now: now)
        let (_, sessionB) = try await sessions.start(now: now)
        #expect(sessionA.csrfToken != sessionB.csrfToken)
        #expect(sessionA.csrfToken == SessionSecrets(sessionID: a).csrfToken)
        #expect(sessionA.csrfToken != SessionSecrets(sessionID: SecretHash.sha256Hex(a)).csrfToken)
    }

    @Test func aFlashIsShownOnceAndStoredSealedUnderTheSessionID() async throws {
        let store = try makeStore()
        let sessions = AdminSessions(store: store)
        let (id, _) = try await sessions.start(now: now)
        try await sessions.setFlash(id: id, .init(message: "Connect link: https://x/connect/cs_secret", isError: false))
        #expect(try await sessions.takeFlash(id: id)?.message == "Connect link: https://x/connect/cs_secret")
        #expect(try await sessions.takeFlash(id: id) == nil)
        try await sessions.setFlash(id: id, .init(message: "cs_secret", isError: true))
        let sealed = try #require(try await store.takeAdminSessionMessage(idHash: SecretHash.sha256Hex(id)))
        #expect(!String(decoding: sealed, as: UTF8.self).contains("cs_secret"))
        #expect(throws: LatchkeyError.self) { try SessionSecrets(sessionID: "another-id").open(sealed) }
        #expect(String(decoding: try SessionSecrets(sessionID: id).open(sealed), as: UTF8.self).contains("cs_secret"))
    }

    @Test func signingInPastTheCapacityEndsTheSessionsClosestToExpiry() async throws {
        let sessions = AdminSessions(store: try makeStore(), lifetime: 60, capacity: 2)
        let (first, _) = try await sessions.start(now: now)
        let (second, _) = try await sessions.start(now: now.addingTimeInterval(1))
        let (third, _) = try await sessions.start(now: now.addingTimeInterval(2))
        #expect(try await sessions.session(id: first, now: now.addingTimeInterval(2)) == nil)
        #expect(try await sessions.session(id: second, now: now.addingTimeInterval(2)) != nil)
        #expect(try await sessions.session(id: third, now: now.addingTimeInterval(2)) != nil)
    }

    @Test func csrfTokensMustMatchExactly() {
        let session = AdminSession(csrfToken: "abc123", expiresAt: now)
        for (sent, ok) in [("abc123", true), ("abc12", false), ("abc1234", false), ("", false), ("ABC123", false)] {
            #expect(DashboardForm.csrfMatches(["csrf": sent], session) == ok, "\(sent)")
        }
        #expect(!DashboardForm.csrfMatches([:], session))
    }

    @Test func refreshHealthCountsPerProviderAndHourInsideTheWindow() {
        func event(_ action: AuditAction, _ provider: String, hoursAgo: Double) -> AuditEvent {
            AuditEvent(at: now.addingTimeInterval(-hoursAgo * 3600), actor: .system, action: action, provider: ProviderID(provider))
        }
        let health = RefreshHealth(
            events: [
                event(RefreshHealth.refreshed, "a", hoursAgo: 0.1), event(RefreshHealth.refreshed, "a", hoursAgo: 0.2),
                event(RefreshHealth.failed, "a", hoursAgo: 5.5), event(RefreshHealth.refreshed, "b", hoursAgo: 23.9),
                event(RefreshHealth.refreshed, "a", hoursAgo: 24.1), event(.connectionConnected, "a", hoursAgo: 1),
            ], now: now)
        #expect(health.byProvider[ProviderID("a")] == .init(succeeded: 2, failed: 1))
        #expect(health.byProvider[ProviderID("b")] == .init(succeeded: 1, failed: 0))
        #expect(health.hourly[23] == .init(succeeded: 2, failed: 0))
        #expect(health.hourly[18] == .init(succeeded: 0, failed: 1))
        #expect(health.hourly[0] == .init(succeeded: 1, failed: 0))
        #expect(health.byProvider[ProviderID("a")]?.successSummary(empty: "-") == "67 % (2 of 3)")
        #expect(OutcomeCounts().successSummary(empty: "no refreshes") == "no refreshes")
    }

    @Test func proxyStatsKeepTheLastDayPerHour() async throws {
        let stats = ProxyStats(store: try makeStore())
        let p = ProviderID("a")
        stats.record(p, at: now, failed: false)
        stats.record(p, at: now, failed: true)
        stats.record(p, at: now.addingTimeInterval(-3 * 3600), failed: false)
        stats.record(p, at: now.addingTimeInterval(-25 * 3600), failed: true)
        stats.record(ProviderID("b"), at: now, failed: true)
        for flushed in [false, true] {
            if flushed { try await stats.flush(now: now) }
            let hours = try await stats.hourly(p, now: now)
            #expect(hours.count == 24 && hours[23] == .init(succeeded: 1, failed: 1) && hours[20] == .init(succeeded: 1, failed: 0))
            let totals = try await stats.totals(now: now)
            #expect(totals[p] == .init(succeeded: 2, failed: 1) && totals[ProviderID("b")] == .init(succeeded: 0, failed: 1))
            #expect(totals[p]?.errorSummary(empty: "no calls") == "33 % errors (1 of 3 calls)")
        }
    }

    @Test func proxyStatsOfEveryReplicaAddUpOnceEachHasFlushed() async throws {
        let store = try makeStore()
        let one = ProxyStats(store: store), two = ProxyStats(store: store)
        let p = ProviderID("a")
        for _ in 0..<3 { one.record(p, at: now, failed: false) }
        two.record(p, at: now, failed: true)
        // Unflushed calls are seen only by their own process.
        #expect(try await one.totals(now: now)[p] == .init(succeeded: 3, failed: 0))
        #expect(try await two.totals(now: now)[p] == .init(succeeded: 0, failed: 1))
        try await one.flush(now: now)
        try await two.flush(now: now)
        try await one.flush(now: now)  // nothing new: adds nothing
        for stats in [one, two] {
            #expect(try await stats.totals(now: now)[p] == .init(succeeded: 3, failed: 1))
            #expect(try await stats.hourly(p, now: now)[23] == .init(succeeded: 3, failed: 1))
        }
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
