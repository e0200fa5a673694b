import CoreMetrics
import Foundation
import LatchkeyModel
import LatchkeyRuntime
import Prometheus
import Synchronization

/// Latchkey's metrics, through swift-metrics with an explicit Prometheus factory (no global bootstrap), and their
/// rendering in the Prometheus text format for `GET /metrics`.
///
/// Labels stay low in cardinality: a route is its pattern (`/v1/proxy/{provider}/**`), never a raw path; a status
/// is its code; a provider is a loaded manifest id.
public struct LatchkeyMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// The handles every request and proxied call records to, made once per label set.
    let handles = HotHandles()

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Proxy latency buckets from 1 ms to 30 s (the total timeout).
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        self.factory = factory
    }

    /// One HTTP request answered.
    public func request(route: String, method: String, status: Int) {
        let key = HotHandles.RequestKey(route: route, method: method, status: status)
        let counter = handles.requests.withLock { $0[key] } ?? handles.requests.withLock { counters in
            let made = Counter(
                label: "latchkey_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
    }

    /// One proxied or tool call's time until the provider's head arrived (or the call failed).
    public func proxyCall(provider: ProviderID, status: Int?, duration: Duration) {
        let key = HotHandles.CallKey(provider: provider, statusClass: status.map { $0 / 100 })
        let timer = handles.calls.withLock { $0[key] } ?? handles.calls.withLock { timers in
            let outcome = status.map { "\($0 / 100)xx" } ?? "error"
            let made = Timer(
                label: "latchkey_proxy_duration_seconds", dimensions: [("provider", provider.rawValue), ("outcome", outcome)], factory: factory)
            timers[key] = made
            return made
        }
        timer.recordNanoseconds(duration.nanoseconds)
    }

    /// One token refresh: `success`, `transient_failure` or `rejected` (invalid_grant and the like).
    public func refresh(provider: ProviderID, outcome: String) {
        Counter(label: "latchkey_refreshes_total", dimensions: [("provider", provider.rawValue), ("outcome", outcome)], factory: factory)
            .increment()
    }

    /// Credits drawn for a metered call.
    public func creditsUsed(provider: ProviderID, amount: Int) {
        Counter(label: "latchkey_credits_used_total", dimensions: [("provider", provider.rawValue)], factory: factory).increment(by: amount)
    }

    /// The text exposition, with the connection counts by state read just before.
    public func render(connectionsByState: [ConnectionState: Int]) -> [UInt8] {
        for state in ConnectionState.allCases {
            Gauge(label: "latchkey_connections", dimensions: [("state", state.rawValue)], factory: factory)
                .record(connectionsByState[state] ?? 0)
        }
        return registry.emitToBuffer()
    }
}

/// Metric handles of the hot path by label set: making a handle goes through the registry's lock and its label maps
/// (a percent of the proxy's CPU when done per request); the label sets are few (route patterns, statuses, providers).
final class HotHandles: Sendable {
    struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct CallKey: Hashable {
        var provider: ProviderID
        /// The status divided by 100; nil for a call that got no answer.
        var statusClass: Int?
    }

    let requests = Mutex<[RequestKey: CoreMetrics.Counter]>([:])
    let calls = Mutex<[CallKey: CoreMetrics.Timer]>([:])
}
