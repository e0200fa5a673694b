import Foundation
import HTTPTypes
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyRuntime
import Synchronization

/// Limits guessing: counts failed authentications (wrong or revoked keys, wrong admin keys at the dashboard's sign-in)
/// per client address and per kind of key, in windows of `window` seconds, in this process.
///
/// - An address with `perAddress` failures in a window is refused `429 rate_limited` (with `Retry-After`) until the
///   window ends, before its key is even looked at: its guesses stop, its right key waits too.
/// - A kind of key (`admin`, `agent`, any other) with `perKind` failures in a window, from whatever addresses, answers
///   further wrong keys of that kind 429 instead of 401 until the window ends; a right key is still served, so a
///   distributed burst never locks anyone out.
/// - A successful authentication is never counted, delayed or refused on this account.
///
/// The counts are per replica: behind R replicas an address gets at most R × `perAddress` tries per window.
public final class AuthFailureLimiter: Sendable {
    /// The limits (`auth_failures_*` settings).
    public struct Limits: Sendable, Equatable {
        public var perAddress = 20
        public var perKind = 200
        public var window: TimeInterval = 60
        public init() {}
    }

    private struct Count {
        var failures: Int
        var since: Date
    }

    let limits: Limits
    /// Proxies whose `X-Forwarded-For` names the client (`trusted_proxies`).
    let trustedProxies: [AddressRange]
    let clock: any LatchkeyClock
    /// Failures per address and per kind of key.
    private struct Counts {
        var byAddress: [String: Count] = [:]
        var byKind: [String: Count] = [:]
        /// When ended windows were last dropped from `byAddress`.
        var prunedAt = Date.distantPast
    }
    private let counts = Mutex(Counts())
    /// How many addresses `counts` holds, readable without the lock: while none is counted, no request's address needs
    /// to be put into text and looked up (every API call asks).
    private let countedAddresses = Atomic<Int>(0)
    /// Past this many counted addresses, windows that ended are dropped.
    private let pruneAt = 10_000

    public init(limits: Limits, trustedProxies: [AddressRange], clock: any LatchkeyClock) {
        self.limits = limits
        self.trustedProxies = trustedProxies
        self.clock = clock
    }

    /// The client address of a request that reached this process from `peer`.
    func address(of headers: HTTPFields, peer: String?) -> String {
        ClientAddress.of(peer: peer, forwardedFor: headers[values: .xForwardedFor], trustedProxies: trustedProxies)
    }

    /// Throws `rate_limited` when `address` spent its failures in this window. `address` is asked for only while some
    /// address has failures counted.
    public func checkAddress(_ address: @autoclosure () -> String) throws(LatchkeyError) {
        guard countedAddresses.load(ordering: .relaxed) > 0 else { return }
        if let refusal = refusal(for: address()) { throw refusal }
    }

    /// `rate_limited` when `address` spent its failures in this window, else nil. Counts whose window ended are
    /// dropped here, at most once a window, so that the addresses stop being looked up once no failure is recent.
    public func refusal(for address: String) -> LatchkeyError? {
        guard countedAddresses.load(ordering: .relaxed) > 0 else { return nil }
        let now = clock.now
        let count: Count? = counts.withLock { counts in
            if now.timeIntervalSince(counts.prunedAt) >= limits.window {
                counts.byAddress = counts.byAddress.filter { now.timeIntervalSince($0.value.since) < limits.window }
                counts.prunedAt = now
                countedAddresses.store(counts.byAddress.count, ordering: .relaxed)
            }
            return counts.byAddress[address]
        }
        guard let count, count.failures >= limits.perAddress, now.timeIntervalSince(count.since) < limits.window else { return nil }
        return Self.limited(retryAfter(count, now), "this address")
    }

    /// Counts a failed authentication of `address` with a key of `kind`. Returns the error to answer with: 429 once
    /// the address or the kind is over its limit, else `otherwise` (the 401).
    public func failed(address: String, kind: String, otherwise: LatchkeyError) -> LatchkeyError {
        let now = clock.now
        let (byAddress, byKind) = counts.withLock { counts in
            if counts.byAddress.count > pruneAt {
                counts.byAddress = counts.byAddress.filter { now.timeIntervalSince($0.value.since) < limits.window }
            }
            let counted = (Self.count(&counts.byAddress, address, now: now, window: limits.window),
                           Self.count(&counts.byKind, kind, now: now, window: limits.window))
            countedAddresses.store(counts.byAddress.count, ordering: .relaxed)
            return counted
        }
        if byAddress.failures >= limits.perAddress { return Self.limited(retryAfter(byAddress, now), "this address") }
        if byKind.failures >= limits.perKind { return Self.limited(retryAfter(byKind, now), "\(kind) keys") }
        return otherwise
    }

    private static func count(_ counts: inout [String: Count], _ key: String, now: Date, window: TimeInterval) -> Count {
        var count = counts[key] ?? Count(failures: 0, since: now)
        if now.timeIntervalSince(count.since) >= window { count = Count(failures: 0, since: now) }
        count.failures += 1
        counts[key] = count
        return count
    }

    private func retryAfter(_ count: Count, _ now: Date) -> Int {
        max(1, Int((limits.window - now.timeIntervalSince(count.since)).rounded(.up)))
    }

    private static func limited(_ seconds: Int, _ what: String) -> LatchkeyError {
        var error = LatchkeyError(.rateLimited, "too many failed authentications from \(what); try again in \(seconds) s", field: "Authorization")
        error.retryAfter = seconds
        return error
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
