import Foundation
import LatchkeyModel
import LatchkeyStore

/// Webhook deliveries with their attempts, each numbered in the order it was enqueued: a webhook's queue is its pending
/// deliveries in that order.
struct DeliveryQueue: Sendable {
    struct Row: Sendable {
        var delivery: WebhookDelivery
        /// The order of enqueueing, across every webhook.
        let seq: Int
        /// First first.
        var attempts: [WebhookAttempt] = []
    }

    private(set) var rows: [String: Row] = [:]
    private var lastSeq = 0

    /// Queues `delivery` as pending with no attempts; `conflict` when its id, or its event for its webhook, is taken.
    mutating func enqueue(_ delivery: WebhookDelivery) throws {
        guard rows[delivery.id] == nil else { throw MemoryStore.conflict("delivery \(delivery.id) already exists") }
        if rows.values.contains(where: { $0.delivery.webhookID == delivery.webhookID && $0.delivery.eventID == delivery.eventID }) {
            throw MemoryStore.conflict("event \(delivery.eventID) is already queued for webhook \(delivery.webhookID)")
        }
        // What the engines store of a new delivery: nothing of attempts the caller may have filled in.
        let queued = WebhookDelivery(
            id: delivery.id, webhookID: delivery.webhookID, org: delivery.org, eventID: delivery.eventID, event: delivery.event,
            connectionID: delivery.connectionID, payload: delivery.payload, createdAt: delivery.createdAt,
            nextAttemptAt: delivery.nextAttemptAt ?? delivery.createdAt)
        lastSeq += 1
        rows[delivery.id] = Row(delivery: queued, seq: lastSeq)
    }

    /// The head of every webhook's queue: its earliest pending delivery.
    func heads() -> [Row] {
        var heads: [String: Row] = [:]
        for row in rows.values where row.delivery.status == .pending {
            if let head = heads[row.delivery.webhookID], head.seq < row.seq { continue }
            heads[row.delivery.webhookID] = row
        }
        return Array(heads.values)
    }

    /// Whether `row` is the head of its webhook's queue.
    func isHead(_ row: Row) -> Bool {
        row.delivery.status == .pending
            && !rows.values.contains { $0.delivery.webhookID == row.delivery.webhookID && $0.delivery.status == .pending && $0.seq < row.seq }
    }

    subscript(id: String) -> Row? {
        get { rows[id] }
        set { rows[id] = newValue }
    }

    /// Removes the deliveries matching `shouldRemove`, with their attempts; returns how many went.
    @discardableResult
    mutating func remove(where shouldRemove: (WebhookDelivery) -> Bool) -> Int {
        rows.removeAll { shouldRemove($0.delivery) }
    }
}
