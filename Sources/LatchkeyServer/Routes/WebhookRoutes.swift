import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyWebhooks

/// `/v1/admin/orgs/{org}/webhook`: an org's webhook for connection events, and its recent deliveries. Admin key only.
struct WebhookRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let settings: ServerSettings
    let webhookDirectory: WebhookDirectory

    func register(on group: RouterGroup<AdminContext>) {
        let limit = settings.maxJSONBodyBytes
        // Registers or replaces the webhook. The answer carries a new signing secret, shown this once.
        group.put("/orgs/:org/webhook") { request, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            let body = try await JSONBody.read(request, limit: limit)
            let url = try body.string("url")
            let origin = try WebhookDirectory.checkedOrigin(url)
            let events = try Self.events(try body.stringList("events"))
            let registered = try await webhookDirectory.put(org: org, url: url, events: events)
            await audit.record(AuditEvent(
                at: clock.now, actor: .admin, action: registered.replaced ? AuditAction.webhookReplaced : .webhookRegistered, owner: org,
                detail: "\(origin) events=\(events.map(\.rawValue).joined(separator: ","))"))
            return APIResponse.json(WebhookView(registered.webhook, secret: registered.secret))
        }
        group.get("/orgs/:org/webhook") { _, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            return APIResponse.json(WebhookView(try await webhook(of: org), secret: nil))
        }
        group.delete("/orgs/:org/webhook") { _, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            guard try await store.deleteWebhook(org: org.org) else { throw Self.noWebhook(org) }
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .webhookRemoved, owner: org))
            return APIResponse.json(["org": AnyEncodable(org.org), "removed": AnyEncodable(true)])
        }
        // Recent deliveries, newest first: `?limit=` (default 50, at most 500).
        group.get("/orgs/:org/webhook/deliveries") { request, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            var count = 50
            if let raw = request.queryValue("limit") {
                guard let n = Int(raw), (1...500).contains(n) else {
                    throw LatchkeyError(.invalidRequest, "limit: expected a whole number from 1 to 500", field: "limit")
                }
                count = n
            }
            let deliveries = try await store.deliveries(org: org.org, limit: count)
            return APIResponse.json(["deliveries": deliveries.map { DeliveryView($0, log: nil) }])
        }
        // One delivery with every attempt: when, the receiver's status or the transport error, how long it took.
        group.get("/orgs/:org/webhook/deliveries/:id") { _, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            let id = context.parameters.get("id") ?? ""
            guard let delivery = try await store.delivery(id: id), delivery.org == org.org else {
                throw LatchkeyError(.notFound, "no delivery '\(id.prefix(64))' for \(org)", field: "id")
            }
            return APIResponse.json(DeliveryView(delivery, log: try await store.attempts(deliveryID: delivery.id)))
        }
    }

    func webhook(of org: OwnerRef) async throws -> Webhook {
        guard let webhook = try await store.webhook(org: org.org) else { throw Self.noWebhook(org) }
        return webhook
    }

    static func noWebhook(_ org: OwnerRef) -> LatchkeyError { LatchkeyError(.notFound, "\(org) has no webhook") }

    /// The events asked for: every event when absent; otherwise known names, at least one.
    static func events(_ names: [String]?) throws(LatchkeyError) -> [WebhookEventType] {
        guard let names else { return WebhookEventType.allCases }
        let parsed = WebhookEventType.parse(names)
        if let unknown = parsed.unknown.first {
            throw LatchkeyError(
                .invalidRequest,
                "events: unknown event '\(unknown.prefix(40))'; known: \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "events")
        }
        guard !parsed.events.isEmpty else { throw LatchkeyError(.invalidRequest, "events: name at least one event", field: "events") }
        return parsed.events
    }
}

/// The public shape of a webhook. The secret is present only in the answer that created it.
struct WebhookView: Encodable {
    let id: String
    let org: String
    let url: String
    let events: [String]
    let secret: String?
    let created_at: Date
    let updated_at: Date

    init(_ w: Webhook, secret: String?) {
        id = w.id
        org = w.org
        url = w.url
        events = w.events.map(\.rawValue)
        self.secret = secret
        created_at = w.createdAt
        updated_at = w.updatedAt
    }
}

/// The public shape of a delivery: its progress, never its body or a secret.
struct DeliveryView: Encodable {
    // Every summary field is always present, `null` when unknown; `attempt_log` only for a single delivery.
    let id: String
    let event: String
    let event_id: String
    @Nullable var connection: String?
    let status: String
    let attempts: Int
    @Nullable var last_status_code: Int?
    @Nullable var last_error: String?
    let created_at: Date
    @Nullable var last_attempt_at: Date?
    @Nullable var next_attempt_at: Date?
    @Nullable var delivered_at: Date?
    let attempt_log: [AttemptView]?

    struct AttemptView: Encodable {
        let attempt: Int
        let at: Date
        @Nullable var status_code: Int?
        @Nullable var error: String?
        let duration_ms: Int
    }

    init(_ d: WebhookDelivery, log: [WebhookAttempt]?) {
        id = d.id
        event = d.event.rawValue
        event_id = d.eventID
        connection = d.connectionID?.rawValue
        status = d.status.rawValue
        attempts = d.attempts
        last_status_code = d.lastStatusCode
        last_error = d.lastError
        created_at = d.createdAt
        last_attempt_at = d.lastAttemptAt
        next_attempt_at = d.nextAttemptAt
        delivered_at = d.deliveredAt
        attempt_log = log?.map {
            AttemptView(attempt: $0.number, at: $0.at, status_code: $0.statusCode, error: $0.error, duration_ms: $0.durationMilliseconds)
        }
    }

}
