import Foundation
import LatchkeyModel
import Testing

@Suite("Webhook event names")
struct WebhookEventTypeTests {
    @Test func eventNamesParseInCanonicalOrderAndUnknownOnesAreReported() {
        let parsed = WebhookEventType.parse(["recovered", "connected", "recovered", "exploded"])
        #expect(parsed.events == [.connected, .recovered])
        #expect(parsed.unknown == ["exploded"])
        #expect(WebhookEventType.allCases.map(\.rawValue) == ["connected", "refresh_failed", "needs_reauth", "recovered", "revoked"])
    }
}

@Suite("Which refreshes send webhook events")
struct WebhookRefreshEventTests {
    func connection(_ state: ConnectionState, error: String? = nil) -> Connection {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        return Connection(
            id: ConnectionID(rawValue: "conn_1"), provider: "github", owner: try! OwnerRef(parsing: "org:acme"), state: state,
            lastError: error, createdAt: at, updatedAt: at)
    }

    @Test(arguments: [
        // before state, before error, after state, after error, event
        (ConnectionState.active, nil, ConnectionState.active, "provider_unavailable", WebhookEventType.refreshFailed),  // a run starts
        (.active, "provider_unavailable", .active, "provider_unavailable", nil),  // a retry in the same run
        (.active, "provider_unavailable", .error, "provider_timeout", .refreshFailed),  // the token expired meanwhile
        (.error, "provider_unavailable", .error, "provider_unavailable", nil),
        (.active, nil, .needsReauth, "invalid_grant", .needsReauth),
        (.error, "provider_unavailable", .needsReauth, "invalid_grant", .needsReauth),
        (.needsReauth, "invalid_grant", .needsReauth, "invalid_grant", nil),
    ] as [(ConnectionState, String?, ConnectionState, String?, WebhookEventType?)])
    func aFailedRefresh(before: ConnectionState, beforeError: String?, after: ConnectionState, afterError: String?, event: WebhookEventType?) {
        #expect(WebhookEventType.afterFailedRefresh(from: connection(before, error: beforeError), to: connection(after, error: afterError)) == event)
    }

    @Test(arguments: [
        (ConnectionState.active, nil, nil),
        (.active, "provider_unavailable", WebhookEventType.recovered),
        (.error, "provider_unavailable", .recovered),
        (.error, nil, .recovered),
    ] as [(ConnectionState, String?, WebhookEventType?)])
    func aSuccessfulRefresh(before: ConnectionState, beforeError: String?, event: WebhookEventType?) {
        #expect(WebhookEventType.afterRefresh(from: connection(before, error: beforeError), to: connection(.active)) == event)
    }

    @Test func aRefreshThatLeavesTheConnectionOutOfServiceRecoversNothing() {
        #expect(WebhookEventType.afterRefresh(from: connection(.needsReauth, error: "invalid_grant"), to: connection(.needsReauth)) == nil)
    }
}
