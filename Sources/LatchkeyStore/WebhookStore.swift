import Foundation
import LatchkeyModel

/// An org's webhook: where its connection events go, which ones, and the sealed signing secret.
public struct Webhook: Sendable, Equatable {
    /// `wh_` and random characters; kept when the webhook is replaced.
    public var id: String
    public var org: String
    /// An `https` URL, or `http` to a loopback host.
    public var url: String
    /// The events sent; never empty.
    public var events: [WebhookEventType]
    /// The signing secret sealed under the org's data key, bound to ``rowID(org:)``.
    public var sealedSecret: [UInt8]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, org: String, url: String, events: [WebhookEventType], sealedSecret: [UInt8], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.org = org
        self.url = url
        self.events = events
        self.sealedSecret = sealedSecret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The row id the sealed secret of an org's webhook is bound to.
    public static func rowID(org: String) -> String { "webhook:\(org)" }
}

/// One event on its way to one webhook, with the outcome of its attempts so far.
public struct WebhookDelivery: Sendable, Equatable {
    /// `whd_` and random characters.
    public var id: String
    public var webhookID: String
    public var org: String
    /// The event's id (`evt_…`), also sent as `Latchkey-Webhook-Id` so receivers can drop duplicates.
    public var eventID: String
    public var event: WebhookEventType
    public var connectionID: ConnectionID?
    /// The request body, fixed when the event happened so every attempt sends the same bytes. Holds no secret.
    public var payload: [UInt8]
    public var status: WebhookDeliveryStatus
    public var attempts: Int
    public var createdAt: Date
    /// When the next attempt is due (or a running attempt's claim lapses); nil once delivered or failed.
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    /// The HTTP status of the last attempt, when the receiver answered.
    public var lastStatusCode: Int?
    /// Why the last attempt failed without an answer: a transport error code such as `connect_failed`.
    public var lastError: String?
    public var deliveredAt: Date?

    public init(
        id: String, webhookID: String, org: String, eventID: String, event: WebhookEventType, connectionID: ConnectionID?,
        payload: [UInt8], status: WebhookDeliveryStatus = .pending, attempts: Int = 0, createdAt: Date, nextAttemptAt: Date?,
        lastAttemptAt: Date? = nil, lastStatusCode: Int? = nil, lastError: String? = nil, deliveredAt: Date? = nil
    ) {
        self.id = id
        self.webhookID = webhookID
        self.org = org
        self.eventID = eventID
        self.event = event
        self.connectionID = connectionID
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.deliveredAt = deliveredAt
    }
}

/// One attempt to deliver: the receiver's status code or the transport error code. Never the body or a secret.
public struct WebhookAttempt: Sendable, Equatable {
    public var deliveryID: String
    /// 1 for the first attempt.
    public var number: Int
    public var at: Date
    public var statusCode: Int?
    public var error: String?
    public var durationMilliseconds: Int

    public init(deliveryID: String, number: Int, at: Date, statusCode: Int?, error: String?, durationMilliseconds: Int) {
        self.deliveryID = deliveryID
        self.number = number
        self.at = at
        self.statusCode = statusCode
        self.error = error
        self.durationMilliseconds = durationMilliseconds
    }
}

/// Org webhooks and their delivery queue.
///
/// Contract:
/// - An org has at most one webhook. `putWebhook` inserts it or replaces its URL, events and sealed secret; a
///   replaced webhook keeps its id, `createdAt` and undelivered deliveries (they go to the new URL).
/// - `deleteWebhook` removes the webhook with all its deliveries and attempts.
/// - Deliveries of one webhook form a queue in the order they were enqueued. Only the head (the earliest pending
///   one) may be attempted, so a later event never overtakes an earlier undelivered one; a delivered or failed head
///   lets the next one through.
/// - `claimDelivery` is atomic: of concurrent claimers of one due delivery, one wins. A claim that is never
///   followed by `recordAttempt` (a crash) lapses at its `until`, and the delivery is due again.
/// - `recordAttempt` appends the attempt and updates the delivery's summary in one step.
public protocol WebhookStore: Sendable {
    /// Registers or replaces the org's webhook; returns what is stored (the existing id on replacement).
    func putWebhook(_ webhook: Webhook) async throws -> Webhook
    func webhook(org: String) async throws -> Webhook?
    /// Removes the org's webhook and its deliveries. Returns whether one existed.
    func deleteWebhook(org: String) async throws -> Bool
    /// Queues a pending delivery with no attempts. Fails with `conflict` when its webhook is gone.
    func enqueueDelivery(_ delivery: WebhookDelivery) async throws
    /// The head of every webhook's queue, due or not, soonest due first, at most `limit`.
    func deliveryQueueHeads(limit: Int) async throws -> [WebhookDelivery]
    /// Claims a pending delivery due at `now` for one attempt, moving its next attempt to `until`. False when it is
    /// not pending, not due, not its queue's head, or someone else claimed it first.
    func claimDelivery(id: String, now: Date, until: Date) async throws -> Bool
    /// Gives back a claim without an attempt (the process is shutting down): the delivery is due again at `dueAt`.
    func releaseDelivery(id: String, dueAt: Date) async throws
    /// Records an attempt: the attempt count and last outcome follow it, the status becomes `status`, and the next
    /// attempt is `nextAttemptAt` (nil unless pending). A `delivered` status sets `deliveredAt` to the attempt's time.
    func recordAttempt(_ attempt: WebhookAttempt, status: WebhookDeliveryStatus, nextAttemptAt: Date?) async throws
    /// The org's deliveries, newest first, at most `limit`.
    func deliveries(org: String, limit: Int) async throws -> [WebhookDelivery]
    func delivery(id: String) async throws -> WebhookDelivery?
    /// A delivery's attempts, first first.
    func attempts(deliveryID: String) async throws -> [WebhookAttempt]
    /// Deletes delivered and failed deliveries created before `before`, with their attempts. Returns how many.
    func purgeDeliveries(before: Date) async throws -> Int
}
