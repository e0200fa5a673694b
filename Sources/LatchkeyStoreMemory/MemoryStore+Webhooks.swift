import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: WebhookStore {
    public func putWebhook(_ webhook: Webhook) async throws -> Webhook {
        try locked { state in
            if var stored = state.webhooks[webhook.org] {
                // A replacement keeps its id, creation time and queue.
                (stored.url, stored.events, stored.sealedSecret) = (webhook.url, webhook.events, webhook.sealedSecret)
                stored.updatedAt = webhook.updatedAt
                state.webhooks[webhook.org] = stored
                return stored
            }
            if state.webhooks.values.contains(where: { $0.id == webhook.id }) { throw Self.conflict("webhook \(webhook.id) already exists") }
            state.webhooks[webhook.org] = webhook
            return webhook
        }
    }

    public func webhook(org: String) async throws -> Webhook? {
        locked { $0.webhooks[org] }
    }

    public func deleteWebhook(org: String) async throws -> Bool {
        locked { state in
            guard let webhook = state.webhooks.removeValue(forKey: org) else { return false }
            state.deliveries.remove { $0.webhookID == webhook.id }
            return true
        }
    }

    public func enqueueDelivery(_ delivery: WebhookDelivery) async throws {
        try locked { state in
            guard state.webhooks.values.contains(where: { $0.id == delivery.webhookID }) else {
                throw Self.conflict("webhook \(delivery.webhookID) does not exist")
            }
            try state.deliveries.enqueue(delivery)
        }
    }

    public func deliveryQueueHeads(limit: Int) async throws -> [WebhookDelivery] {
        locked { state in
            // Soonest due first; a pending delivery with no due time sorts first, as SQLite sorts NULL.
            func order(_ row: DeliveryQueue.Row) -> (Int, Date, Int) {
                (row.delivery.nextAttemptAt == nil ? 0 : 1, row.delivery.nextAttemptAt ?? .distantPast, row.seq)
            }
            return Array(state.deliveries.heads().sorted { order($0) < order($1) }.prefix(max(0, limit)).map(\.delivery))
        }
    }

    public func claimDelivery(id: String, now: Date, until: Date) async throws -> Bool {
        locked { state in
            guard let row = state.deliveries[id], let due = row.delivery.nextAttemptAt, due <= now, state.deliveries.isHead(row) else {
                return false
            }
            state.deliveries[id]?.delivery.nextAttemptAt = until
            return true
        }
    }

    public func releaseDelivery(id: String, dueAt: Date) async throws {
        locked { state in
            guard state.deliveries[id]?.delivery.status == .pending else { return }
            state.deliveries[id]?.delivery.nextAttemptAt = dueAt
        }
    }

    public func recordAttempt(_ attempt: WebhookAttempt, status: WebhookDeliveryStatus, nextAttemptAt: Date?) async throws {
        try locked { state in
            guard var row = state.deliveries[attempt.deliveryID] else { throw Self.conflict("delivery \(attempt.deliveryID) does not exist") }
            guard attempt.number >= 1, !row.attempts.contains(where: { $0.number == attempt.number }) else {
                throw Self.conflict("attempt \(attempt.number) of \(attempt.deliveryID) is taken or out of range")
            }
            row.attempts.append(attempt)
            row.attempts.sort { $0.number < $1.number }
            row.delivery.attempts = attempt.number
            row.delivery.status = status
            row.delivery.nextAttemptAt = status == .pending ? nextAttemptAt : nil
            row.delivery.lastAttemptAt = attempt.at
            row.delivery.lastStatusCode = attempt.statusCode
            row.delivery.lastError = attempt.error
            row.delivery.deliveredAt = status == .delivered ? attempt.at : nil
            state.deliveries[attempt.deliveryID] = row
        }
    }

    public func deliveries(org: String, limit: Int) async throws -> [WebhookDelivery] {
        locked { state in
            Array(state.deliveries.rows.values.filter { $0.delivery.org == org }.sorted { $0.seq > $1.seq }.prefix(max(0, limit)).map(\.delivery))
        }
    }

    public func delivery(id: String) async throws -> WebhookDelivery? {
        locked { $0.deliveries[id]?.delivery }
    }

    public func attempts(deliveryID: String) async throws -> [WebhookAttempt] {
        locked { $0.deliveries[deliveryID]?.attempts ?? [] }
    }

    public func purgeDeliveries(before: Date) async throws -> Int {
        locked { state in state.deliveries.remove { [WebhookDeliveryStatus.delivered, .failed].contains($0.status) && $0.createdAt < before } }
    }
}
