import Foundation
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Org webhooks: registers them with a fresh signing secret sealed under the org's data key, and opens the secret
/// again to sign a delivery. The plaintext secret leaves only once, in the answer to the registration.
public struct WebhookDirectory: Sendable {
    let store: any WebhookStore
    let vault: CredentialVault
    let clock: any LatchkeyClock

    public init(store: any WebhookStore, vault: CredentialVault, clock: any LatchkeyClock) {
        self.store = store
        self.vault = vault
        self.clock = clock
    }

    /// A registration's outcome; `secret` is shown to the admin once and never stored in plaintext.
    public struct Registered: Sendable {
        public var webhook: Webhook
        public var secret: String
        public var replaced: Bool
    }

    /// Registers the webhook of `org`, or replaces its URL and events; either way with a new signing secret.
    public func put(org: OwnerRef, url: String, events: [WebhookEventType]) async throws -> Registered {
        let existing = try await store.webhook(org: org.org)
        let secret = WebhookSignature.generateSecret()
        let sealed = try await vault.seal(Array(secret.utf8), binding: try Self.binding(org: org.org))
        let now = clock.now
        let stored = try await store.putWebhook(Webhook(
            id: existing?.id ?? "wh_" + RandomToken.base32(bytes: 16), org: org.org, url: url, events: events, sealedSecret: sealed,
            createdAt: existing?.createdAt ?? now, updatedAt: now))
        return Registered(webhook: stored, secret: secret, replaced: existing != nil)
    }

    /// The plaintext signing secret of `webhook`, for signing one delivery.
    public func secret(of webhook: Webhook) async throws -> String {
        String(decoding: try await vault.open(webhook.sealedSecret, binding: try Self.binding(org: webhook.org)), as: UTF8.self)
    }

    /// What an org's webhook secret is sealed to: its purpose, the org's row, the org as owner.
    public static func binding(org: String) throws(LatchkeyError) -> SealBinding {
        SealBinding(
            purpose: "webhook_secret", rowID: Webhook.rowID(org: org), owner: try OwnerRef(kind: .org, segments: [org], field: "org"),
            provider: ProviderID("webhook"))
    }

    /// Checks a webhook URL with the outbound policy (`https`, or `http` to a loopback host) and returns its origin,
    /// which is safe to show and audit: it never holds the path or query, which may carry a token.
    public static func checkedOrigin(_ url: String) throws(LatchkeyError) -> String {
        guard url.count <= 2048, !url.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
        else {
            throw LatchkeyError(.invalidRequest, "url: must be an absolute URL of at most 2048 characters, without spaces", field: "url")
        }
        do {
            let (scheme, host, port) = try OutboundURLPolicy.check(url)
            return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
        } catch let error as OutboundError {
            throw LatchkeyError(.invalidRequest, "url: \(error.message); use https, or http to a loopback host", field: "url")
        } catch {
            throw LatchkeyError(.invalidRequest, "url: not a valid URL", field: "url")
        }
    }
}
