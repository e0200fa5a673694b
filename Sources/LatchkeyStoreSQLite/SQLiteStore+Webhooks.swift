import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func putWebhook(_ w: Webhook) async throws -> Webhook {
        try await write { db in
            try db.execute(
                sql: Self.upsert(
                    "webhooks", ["id", "org", "url", "events", "secret", "created_at", "updated_at"], key: ["org"],
                    update: ["url", "events", "secret", "updated_at"]),
                arguments: [
                    w.id, w.org, w.url, Self.json(w.events.map(\.rawValue)), Data(w.sealedSecret), Self.time(w.createdAt),
                    Self.time(w.updatedAt),
                ])
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhooks WHERE org = ?"), arguments: [w.org]) else {
                throw LatchkeyError(.conflict, "the webhook of \(w.org) was removed while it was written; try again")
            }
            return try Self.webhook(row)
        }
    }

    public func webhook(org: String) async throws -> Webhook? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhooks WHERE org = ?"), arguments: [org]).map(Self.webhook)
        }
    }

    public func deleteWebhook(org: String) async throws -> Bool {
        try await pool.write { db in
            // Deliveries and their attempts go with it (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM webhooks WHERE org = ?", arguments: [org])
            return db.changesCount > 0
        }
    }

    public func enqueueDelivery(_ d: WebhookDelivery) async throws {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            d.id, d.webhookID, d.org, d.eventID, d.event.rawValue, d.connectionID?.rawValue, Data(d.payload), Self.time(d.createdAt),
            Self.time(d.nextAttemptAt ?? d.createdAt),
        ]
        let args = values.map { $0 ?? DatabaseValue.null }
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_deliveries (id, webhook_id, org, event_id, event, connection_id, payload, status, attempts,
                        created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                    """,
                arguments: StatementArguments(args))
        }
    }

    public func deliveryQueueHeads(limit: Int) async throws -> [WebhookDelivery] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.* FROM webhook_deliveries d
                    JOIN (SELECT MIN(seq) AS seq FROM webhook_deliveries WHERE status = 'pending' GROUP BY webhook_id) head
                        ON d.seq = head.seq
                    ORDER BY d.next_attempt_at, d.seq LIMIT ?
                    """,
                arguments: [limit]
            ).compactMap(Self.delivery)
        }
    }

    public func claimDelivery(id: String, now: Date, until: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?
                    AND seq = (SELECT MIN(seq) FROM webhook_deliveries head
                        WHERE head.webhook_id = webhook_deliveries.webhook_id AND head.status = 'pending')
                    """,
                arguments: [Self.time(until), id, Self.time(now)])
            return db.changesCount == 1
        }
    }

    public func releaseDelivery(id: String, dueAt: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                arguments: [Self.time(dueAt), id])
        }
    }

    public func recordAttempt(_ a: WebhookAttempt, status: WebhookDeliveryStatus, nextAttemptAt: Date?) async throws {
        let attempt: [(any DatabaseValueConvertible & Sendable)?] = [
            a.deliveryID, a.number, Self.time(a.at), a.statusCode, a.error, a.durationMilliseconds,
        ]
        let summary: [(any DatabaseValueConvertible & Sendable)?] = [
            a.number, status.rawValue, status == .pending ? nextAttemptAt.map(Self.time) : nil, Self.time(a.at), a.statusCode,
            a.error, status == .delivered ? Self.time(a.at) : nil, a.deliveryID,
        ]
        try await write { db in
            try db.execute(
                sql: "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: StatementArguments(attempt.map { $0 ?? DatabaseValue.null }))
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET attempts = ?, status = ?, next_attempt_at = ?, last_attempt_at = ?,
                        last_status_code = ?, last_error = ?, delivered_at = ? WHERE id = ?
                    """,
                arguments: StatementArguments(summary.map { $0 ?? DatabaseValue.null }))
        }
    }

    public func deliveries(org: String, limit: Int) async throws -> [WebhookDelivery] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM webhook_deliveries WHERE org = ? ORDER BY seq DESC LIMIT ?"), arguments: [org, limit])
                .compactMap(Self.delivery)
        }
    }

    public func delivery(id: String) async throws -> WebhookDelivery? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhook_deliveries WHERE id = ?"), arguments: [id]).flatMap(Self.delivery)
        }
    }

    public func attempts(deliveryID: String) async throws -> [WebhookAttempt] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt"), arguments: [deliveryID]).map {
                WebhookAttempt(
                    deliveryID: try Self.required($0, "delivery_id", as: String.self), number: try Self.required($0, "attempt", as: Int.self),
                    at: try Self.time($0, "at"), statusCode: try Self.optional($0, "status_code", as: Int.self),
                    error: try Self.optional($0, "error", as: String.self), durationMilliseconds: try Self.required($0, "duration_ms", as: Int.self))
            }
        }
    }

    public func purgeDeliveries(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < ?",
                arguments: [Self.time(before)])
            return db.changesCount
        }
    }

    static func webhook(_ row: Row) throws -> Webhook {
        Webhook(
            id: try Self.required(row, "id", as: String.self), org: try Self.required(row, "org", as: String.self),
            url: try Self.required(row, "url", as: String.self),
            events: (decode([String].self, try Self.optional(row, "events", as: String.self)) ?? []).compactMap(WebhookEventType.init(rawValue:)),
            sealedSecret: Array(try Self.required(row, "secret", as: Data.self)), createdAt: try Self.time(row, "created_at"),
            updatedAt: try Self.time(row, "updated_at"))
    }

    static func delivery(_ row: Row) throws -> WebhookDelivery? {
        guard let event = WebhookEventType(rawValue: try Self.required(row, "event", as: String.self)),
            let status = WebhookDeliveryStatus(rawValue: try Self.required(row, "status", as: String.self))
        else { return nil }
        let connection = try Self.optional(row, "connection_id", as: String.self)
        return WebhookDelivery(
            id: try Self.required(row, "id", as: String.self), webhookID: try Self.required(row, "webhook_id", as: String.self),
            org: try Self.required(row, "org", as: String.self), eventID: try Self.required(row, "event_id", as: String.self), event: event,
            connectionID: connection.map(ConnectionID.init(rawValue:)), payload: Array(try Self.required(row, "payload", as: Data.self)),
            status: status, attempts: try Self.required(row, "attempts", as: Int.self), createdAt: try Self.time(row, "created_at"),
            nextAttemptAt: try Self.optionalTime(row, "next_attempt_at"), lastAttemptAt: try Self.optionalTime(row, "last_attempt_at"),
            lastStatusCode: try Self.optional(row, "last_status_code", as: Int.self), lastError: try Self.optional(row, "last_error", as: String.self),
            deliveredAt: try Self.optionalTime(row, "delivered_at"))
    }
}
