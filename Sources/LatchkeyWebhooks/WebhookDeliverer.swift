import Foundation
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Logging
import ServiceLifecycle
import Synchronization

/// Delivers queued webhook events: signs each request, POSTs it to the org's webhook, and records the attempt.
///
/// Each pass reads the head of every webhook's queue (the store hands out only heads, so one org's events arrive in
/// order), claims the due ones, and sends at most `concurrency` at a time, each in its own task, so a slow receiver
/// does not hold up other orgs. Then it sleeps until the next head falls due (at most `maxSleep`), or until an event is
/// queued or an attempt ends. A 2xx answer delivers; anything else is retried by `policy`.
///
/// On graceful shutdown the loop and any running attempt are cancelled. A cut-short attempt records nothing and gives
/// its claim back, so the event goes out again as soon as Latchkey is back (after a crash, once the claim lapses after
/// `claimFor`). Receivers may see an event twice and drop duplicates by `Latchkey-Webhook-Id`.
public struct WebhookDeliverer: Service {
    let store: any WebhookStore
    /// Opens each webhook's signing secret.
    let directory: WebhookDirectory
    let transport: any HTTPTransport
    let clock: any LatchkeyClock
    /// Signalled when an event is queued; the deliverer signals it itself when an attempt ends.
    let wakeup: WakeSignal
    let logger: Logger
    public var policy = WebhookRetryPolicy()
    public var concurrency = 8
    public var batch = 100
    public var maxSleep: TimeInterval = 30
    public var connectTimeout: Duration = .seconds(5)
    public var totalTimeout: Duration = .seconds(10)
    /// How long a claimed attempt may run before the delivery is due again; longer than `totalTimeout`.
    public var claimFor: TimeInterval = 30
    /// Delivered and failed deliveries are kept this long, then purged.
    public var retention: TimeInterval = 30 * 86_400

    public init(
        store: any WebhookStore, directory: WebhookDirectory, transport: any HTTPTransport, clock: any LatchkeyClock, wakeup: WakeSignal,
        logger: Logger
    ) {
        self.store = store
        self.directory = directory
        self.transport = transport
        self.clock = clock
        self.wakeup = wakeup
        self.logger = logger
    }

    /// Attempts running now, shared by the loop and the attempt tasks.
    private final class Running: Sendable {
        let count = Atomic<Int>(0)
    }

    public func run() async throws {
        let running = Running()
        // On graceful shutdown the loop is cancelled mid-sleep or mid-attempt; that is a normal end, not a failure.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                var purgedAt = Date.distantPast
                while !Task.isCancelled {
                    let (claimed, sleep) = await pass(free: concurrency - running.count.load(ordering: .relaxed))
                    for delivery in claimed {
                        running.count.add(1, ordering: .relaxed)
                        group.addTask {
                            await attempt(delivery)
                            running.count.subtract(1, ordering: .relaxed)
                            wakeup.signal()
                        }
                    }
                    if clock.now.timeIntervalSince(purgedAt) > 3600 {
                        purgedAt = clock.now
                        _ = try? await store.purgeDeliveries(before: purgedAt.addingTimeInterval(-retention))
                    }
                    await wakeup.wait(timeout: .interval(sleep), clock: clock)
                }
            }
        }
    }

    /// One pass: claims up to `free` due queue heads and returns them with how long to sleep.
    func pass(free: Int) async -> (claimed: [WebhookDelivery], sleep: TimeInterval) {
        let heads: [WebhookDelivery]
        do {
            heads = try await store.deliveryQueueHeads(limit: batch)
        } catch {
            logger.error("webhook deliverer could not read its queue")
            return ([], maxSleep)
        }
        let now = clock.now
        var claimed: [WebhookDelivery] = []
        var waitingForRoom = false
        var nextDue: Date?
        for head in heads {
            let due = head.nextAttemptAt ?? now
            guard due <= now else {
                nextDue = min(nextDue ?? due, due)
                continue
            }
            guard claimed.count < free else {
                waitingForRoom = true  // an ending attempt wakes the loop
                continue
            }
            if (try? await store.claimDelivery(id: head.id, now: now, until: now.addingTimeInterval(claimFor))) == true {
                claimed.append(head)
            }
        }
        // Heads come soonest due first, so one beyond the batch is due no sooner than `nextDue`.
        guard !waitingForRoom, let nextDue else { return (claimed, maxSleep) }
        return (claimed, min(maxSleep, max(0.01, nextDue.timeIntervalSince(clock.now))))
    }

    /// One attempt at a claimed delivery, recorded with its outcome.
    func attempt(_ delivery: WebhookDelivery) async {
        let number = delivery.attempts + 1
        let at = clock.now
        let outcome: Outcome
        do {
            // A removed webhook took its deliveries with it; a replaced one keeps its id and gets them.
            guard let webhook = try await store.webhook(org: delivery.org), webhook.id == delivery.webhookID else { return }
            outcome = await send(delivery, to: webhook, at: at)
        } catch {
            logger.error("webhook deliverer could not read a webhook", metadata: ["org": "\(delivery.org)"])
            return  // the claim lapses and the delivery is tried again
        }
        if case .cancelled = outcome {
            // Shutting down: give the claim back so the next start sends it at once. The write runs in its own task,
            // which the cancellation of this one does not reach.
            await Task { [store, clock] in try? await store.releaseDelivery(id: delivery.id, dueAt: clock.now) }.value
            return
        }
        let elapsed = clock.now.timeIntervalSince(at)
        let decision = policy.decide(
            attempt: number, succeeded: outcome.succeeded, permanent: outcome.permanent, at: clock.now, random: Double.random(in: 0..<1))
        let record = WebhookAttempt(
            deliveryID: delivery.id, number: number, at: at, statusCode: outcome.statusCode, error: outcome.errorCode,
            durationMilliseconds: Int(elapsed * 1000))
        let status: WebhookDeliveryStatus
        let next: Date?
        switch decision {
        case .delivered: (status, next) = (.delivered, nil)
        case .retry(let date): (status, next) = (.pending, date)
        case .failed: (status, next) = (.failed, nil)
        }
        do {
            try await store.recordAttempt(record, status: status, nextAttemptAt: next)
        } catch {
            logger.error("webhook deliverer could not record an attempt", metadata: ["delivery": "\(delivery.id)"])
        }
        var metadata: Logger.Metadata = [
            "org": "\(delivery.org)", "delivery": "\(delivery.id)", "event": "\(delivery.event.rawValue)", "attempt": "\(number)",
            "result": "\(outcome.statusCode.map(String.init) ?? outcome.errorCode ?? "")",
        ]
        switch decision {
        case .delivered:
            logger.info("webhook delivered", metadata: metadata)
        case .retry(let date):
            metadata["retry_in_s"] = "\(Int(date.timeIntervalSince(clock.now).rounded(.up)))"
            logger.notice("webhook delivery attempt failed", metadata: metadata)
        case .failed:
            logger.warning("webhook delivery failed; no more attempts", metadata: metadata)
        }
    }

    /// What one attempt came to.
    enum Outcome {
        case answered(Int)
        case failed(code: String, permanent: Bool)
        case cancelled

        var succeeded: Bool { if case .answered(let status) = self { (200..<300).contains(status) } else { false } }
        var permanent: Bool { if case .failed(_, let permanent) = self { permanent } else { false } }
        var statusCode: Int? { if case .answered(let status) = self { status } else { nil } }
        var errorCode: String? { if case .failed(let code, _) = self { code } else { nil } }
    }

    /// Signs and sends one delivery. The signature covers `"{timestamp}.{body}"` (see ``WebhookSignature``).
    func send(_ delivery: WebhookDelivery, to webhook: Webhook, at: Date) async -> Outcome {
        let secret: String
        do {
            secret = try await directory.secret(of: webhook)
        } catch {
            // The org's data key is gone or the ciphertext does not open: no retry can fix that.
            return .failed(code: LatchkeyError.Code.decryptionFailed.rawValue, permanent: true)
        }
        let timestamp = Int(at.timeIntervalSince1970)
        let request = OutboundRequest(
            method: "POST", url: webhook.url,
            headers: [
                OutboundHeader(name: "Content-Type", value: "application/json"),
                OutboundHeader(name: "User-Agent", value: "Latchkey-Webhooks/1"),
                OutboundHeader(name: "Latchkey-Webhook-Id", value: delivery.eventID),
                OutboundHeader(name: "Latchkey-Webhook-Timestamp", value: String(timestamp)),
                OutboundHeader(
                    name: "Latchkey-Webhook-Signature", value: WebhookSignature.header(secret: secret, timestamp: timestamp, body: delivery.payload)),
            ],
            body: delivery.payload, connectTimeout: connectTimeout, totalTimeout: totalTimeout, maxResponseBytes: 1 << 20,
            followRedirects: false)
        do {
            return .answered(try await transport.send(request).status)
        } catch is CancellationError {
            return .cancelled
        } catch let error as OutboundError {
            if error.code == .cancelled || Task.isCancelled { return .cancelled }
            return .failed(code: error.code.rawValue, permanent: false)
        } catch {
            return Task.isCancelled ? .cancelled : .failed(code: "transport", permanent: false)
        }
    }
}
