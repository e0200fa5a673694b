import Foundation
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging

/// Connection events on their way to the org's webhook.
///
/// Each event is queued in the store before the call returns, so it survives a restart, and the deliverer is woken
/// at once. An org without a webhook, or whose webhook does not want the event, costs one read. Queuing never fails
/// the flow that caused the event: a failure is logged (org, event and error code only).
public struct WebhookEvents: Sendable {
    let store: any WebhookStore
    let clock: any LatchkeyClock
    /// Wakes the deliverer when an event is queued.
    let wakeup: WakeSignal
    let logger: Logger

    public init(store: any WebhookStore, clock: any LatchkeyClock, wakeup: WakeSignal, logger: Logger) {
        self.store = store
        self.clock = clock
        self.wakeup = wakeup
        self.logger = logger
    }

    /// A person finished a connect flow, or an admin saved a key.
    public func connected(_ connection: Connection) async { await enqueue(.connected, connection) }

    /// The connection was removed or revoked (once: removing a revoked connection again sends nothing).
    public func revoked(from before: Connection, to after: Connection) async {
        guard before.state != .revoked else { return }
        await enqueue(.revoked, after)
    }

    /// A refresh failed: `needs_reauth` or `refresh_failed`, by ``WebhookEventType/afterFailedRefresh(from:to:)``.
    public func refreshFailed(from before: Connection, to after: Connection) async {
        guard let event = WebhookEventType.afterFailedRefresh(from: before, to: after) else { return }
        await enqueue(event, after)
    }

    /// A refresh succeeded: `recovered` when the connection had been failing.
    public func refreshed(from before: Connection, to after: Connection) async {
        guard let event = WebhookEventType.afterRefresh(from: before, to: after) else { return }
        await enqueue(event, after)
    }

    /// Queues `event` about `connection` for its org's webhook, when there is one that wants it.
    public func enqueue(_ event: WebhookEventType, _ connection: Connection) async {
        let org = connection.owner.org
        do {
            guard let webhook = try await store.webhook(org: org), webhook.events.contains(event) else { return }
            let now = clock.now
            let eventID = "evt_" + RandomToken.base32(bytes: 16)
            try await store.enqueueDelivery(WebhookDelivery(
                id: "whd_" + RandomToken.base32(bytes: 16), webhookID: webhook.id, org: org, eventID: eventID, event: event,
                connectionID: connection.id, payload: Self.payload(id: eventID, event: event, connection: connection, at: now),
                createdAt: now, nextAttemptAt: now))
            wakeup.signal()
        } catch {
            logger.error(
                "webhook event could not be queued",
                metadata: ["org": "\(org)", "event": "\(event.rawValue)", "error": "\((error as? LatchkeyError)?.code.rawValue ?? "internal_error")"])
        }
    }

    /// The request body: `{"id","type","created_at","org","data":{"connection","provider","owner","state","error"?}}`.
    /// `error` is the connection's last error code (e.g. `invalid_grant`), present only when there is one.
    public static func payload(id: String, event: WebhookEventType, connection c: Connection, at: Date) -> [UInt8] {
        var data: [String: JSONValue] = [
            "connection": .string(c.id.rawValue), "provider": .string(c.provider.rawValue), "owner": .string(c.owner.description),
            "state": .string(c.state.rawValue),
        ]
        if let error = c.lastError { data["error"] = .string(error) }
        return JSONValue.object([
            "id": .string(id), "type": .string(event.rawValue), "created_at": .string(ISO8601DateFormatter().string(from: at)),
            "org": .string(c.owner.org), "data": .object(data),
        ]).serialized()
    }
}
