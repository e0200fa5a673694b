import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func putWebhook(_ w: Webhook) async throws -> Webhook {
        let rows = try await execute(
            """
            INSERT INTO webhooks (id, org, url, events, secret, created_at, updated_at)
            VALUES (\(w.id), \(w.org), \(w.url), \(Self.json(w.events.map(\.rawValue))), \(Self.bytes(w.sealedSecret)), \(Self.time(w.createdAt)),
                \(Self.time(w.updatedAt)))
            ON CONFLICT (org) DO UPDATE SET url = excluded.url, events = excluded.events, secret = excluded.secret,
                updated_at = excluded.updated_at
            RETURNING *
            """)
        return try Self.webhook(rows[0])
    }

    public func webhook(org: String) async throws -> Webhook? {
        try await execute("SELECT * FROM webhooks WHERE org = \(org)").first.map(Self.webhook)
    }

    public func deleteWebhook(org: String) async throws -> Bool {
        // Deliveries and their attempts go with it (ON DELETE CASCADE).
        try await !execute("DELETE FROM webhooks WHERE org = \(org) RETURNING 1").isEmpty
    }

    public func enqueueDelivery(_ d: WebhookDelivery) async throws {
        try await execute(
            """
            INSERT INTO webhook_deliveries (id, webhook_id, org, event_id, event, connection_id, payload, status, attempts, created_at,
                next_attempt_at)
            VALUES (\(d.id), \(d.webhookID), \(d.org), \(d.eventID), \(d.event.rawValue), \(d.connectionID?.rawValue), \(Self.bytes(d.payload)),
                'pending', 0, \(Self.time(d.createdAt)), \(Self.time(d.nextAttemptAt ?? d.createdAt)))
            """)
    }

    public func deliveryQueueHeads(limit: Int) async throws -> [WebhookDelivery] {
        try await execute(
            """
            SELECT d.* FROM webhook_deliveries d
            JOIN (SELECT MIN(seq) AS seq FROM webhook_deliveries WHERE status = 'pending' GROUP BY webhook_id) head ON d.seq = head.seq
            ORDER BY d.next_attempt_at, d.seq LIMIT \(limit)
            """
        ).compactMap(Self.delivery)
    }

    public func claimDelivery(id: String, now: Date, until: Date) async throws -> Bool {
        // A racing claimer waits on the row lock, then re-checks `next_attempt_at <= now` against the winner's `until`.
        try await !execute(
            """
            UPDATE webhook_deliveries SET next_attempt_at = \(Self.time(until))
            WHERE id = \(id) AND status = 'pending' AND next_attempt_at <= \(Self.time(now))
            AND seq = (SELECT MIN(seq) FROM webhook_deliveries head
                WHERE head.webhook_id = webhook_deliveries.webhook_id AND head.status = 'pending')
            RETURNING 1
            """
        ).isEmpty
    }

    public func releaseDelivery(id: String, dueAt: Date) async throws {
        try await execute("UPDATE webhook_deliveries SET next_attempt_at = \(Self.time(dueAt)) WHERE id = \(id) AND status = 'pending'")
    }

    public func recordAttempt(_ a: WebhookAttempt, status: WebhookDeliveryStatus, nextAttemptAt: Date?) async throws {
        let next = status == .pending ? nextAttemptAt.map(Self.time) : nil
        let delivered = status == .delivered ? Self.time(a.at) : nil
        try await transaction { tx in
            try await tx.execute(
                """
                INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
                VALUES (\(a.deliveryID), \(a.number), \(Self.time(a.at)), \(a.statusCode), \(a.error), \(a.durationMilliseconds))
                """)
            try await tx.execute(
                """
                UPDATE webhook_deliveries SET attempts = \(a.number), status = \(status.rawValue), next_attempt_at = \(next),
                    last_attempt_at = \(Self.time(a.at)), last_status_code = \(a.statusCode), last_error = \(a.error), delivered_at = \(delivered)
                WHERE id = \(a.deliveryID)
                """)
        }
    }

    public func deliveries(org: String, limit: Int) async throws -> [WebhookDelivery] {
        try await execute("SELECT * FROM webhook_deliveries WHERE org = \(org) ORDER BY seq DESC LIMIT \(limit)").compactMap(Self.delivery)
    }

    public func delivery(id: String) async throws -> WebhookDelivery? {
        try await execute("SELECT * FROM webhook_deliveries WHERE id = \(id)").first.flatMap(Self.delivery)
    }

    public func attempts(deliveryID: String) async throws -> [WebhookAttempt] {
        try await execute("SELECT * FROM webhook_attempts WHERE delivery_id = \(deliveryID) ORDER BY attempt").map {
            WebhookAttempt(
                deliveryID: try $0.value("delivery_id"), number: try $0.value("attempt"), at: try StoredTime.required(try $0.value("at"), "at"),
                statusCode: try $0.value("status_code"), error: try $0.value("error"), durationMilliseconds: try $0.value("duration_ms"))
        }
    }

    public func purgeDeliveries(before: Date) async throws -> Int {
        try await execute(
            "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < \(Self.time(before)) RETURNING 1"
        ).count
    }

    static func webhook(_ row: PostgresRandomAccessRow) throws -> Webhook {
        Webhook(
            id: try row.value("id"), org: try row.value("org"), url: try row.value("url"),
            events: (decode([String].self, try row.value("events")) ?? []).compactMap(WebhookEventType.init(rawValue:)),
            sealedSecret: bytes(try row.value("secret", as: ByteBuffer.self)) ?? [], createdAt: try StoredTime.required(try row.value("created_at"), "created_at"),
            updatedAt: try StoredTime.required(try row.value("updated_at"), "updated_at"))
    }

    static func delivery(_ row: PostgresRandomAccessRow) throws -> WebhookDelivery? {
        guard let event = WebhookEventType(rawValue: try row.value("event")),
            let status = WebhookDeliveryStatus(rawValue: try row.value("status"))
        else { return nil }
        return WebhookDelivery(
            id: try row.value("id"), webhookID: try row.value("webhook_id"), org: try row.value("org"), eventID: try row.value("event_id"),
            event: event, connectionID: try row.value("connection_id", as: String?.self).map(ConnectionID.init(rawValue:)),
            payload: bytes(try row.value("payload", as: ByteBuffer.self)) ?? [], status: status, attempts: try row.value("attempts"),
            createdAt: try StoredTime.required(try row.value("created_at"), "created_at"), nextAttemptAt: date(try row.value("next_attempt_at")),
            lastAttemptAt: date(try row.value("last_attempt_at")), lastStatusCode: try row.value("last_status_code"),
            lastError: try row.value("last_error"), deliveredAt: date(try row.value("delivered_at")))
    }
}
