import Foundation
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyRuntime
import Testing

@testable import LatchkeyServer

/// Guessing keys is limited per client address and per kind of key; successes are never counted.
@Suite struct AuthFailureLimiterTests {
    let wrong = LatchkeyError(.unauthenticated, "wrong")

    func limiter(_ clock: ManualClock, perAddress: Int = 3, perKind: Int = 5) -> AuthFailureLimiter {
        var limits = AuthFailureLimiter.Limits()
        limits.perAddress = perAddress
        limits.perKind = perKind
        limits.window = 60
        return AuthFailureLimiter(limits: limits, trustedProxies: [], clock: clock)
    }

    @Test func anAddressPastItsFailuresIsRefusedUntilItsWindowEnds() throws {
        let clock = ManualClock()
        let limiter = limiter(clock)
        #expect(limiter.failed(address: "10.0.0.1", kind: "agent", otherwise: wrong).code == .unauthenticated)
        #expect(limiter.failed(address: "10.0.0.1", kind: "agent", otherwise: wrong).code == .unauthenticated)
        let third = limiter.failed(address: "10.0.0.1", kind: "agent", otherwise: wrong)
        #expect(third.code == .rateLimited && third.retryAfter == 60)
        clock.advance(by: .seconds(20))
        #expect(throws: LatchkeyError.self) { try limiter.checkAddress("10.0.0.1") }
        do {
            try limiter.checkAddress("10.0.0.1")
        } catch {
            #expect(error.retryAfter == 40)
        }
        // Another address is not held back.
        try limiter.checkAddress("10.0.0.2")
        clock.advance(by: .seconds(40))
        try limiter.checkAddress("10.0.0.1")
    }

    @Test func theAddressIsLookedAtOnlyWhileSomeFailureIsRecent() throws {
        let clock = ManualClock()
        let limiter = limiter(clock)
        var asked = 0
        func address() -> String {
            asked += 1
            return "10.0.2.1"
        }
        // No failure yet: every call's address would be put into text and looked up for nothing.
        try limiter.checkAddress(address())
        #expect(asked == 0)
        for _ in 1...3 { _ = limiter.failed(address: "10.0.2.1", kind: "agent", otherwise: wrong) }
        #expect(throws: LatchkeyError.self) { try limiter.checkAddress(address()) }
        try limiter.checkAddress("10.0.2.2")
        #expect(asked == 1)
        // The window ends: the next look drops the count, and later calls are not looked at.
        clock.advance(by: .seconds(60))
        try limiter.checkAddress(address())
        #expect(asked == 2)
        try limiter.checkAddress(address())
        #expect(asked == 2)
        // A new failure starts the looking again, and its count starts afresh.
        #expect(limiter.failed(address: "10.0.2.1", kind: "agent", otherwise: wrong).code == .unauthenticated)
        try limiter.checkAddress(address())
        #expect(asked == 3)
    }

    @Test func anAddressThatKeepsFailingAfterAPruneIsStillRefused() throws {
        let clock = ManualClock()
        let limiter = limiter(clock)
        _ = limiter.failed(address: "10.0.3.1", kind: "agent", otherwise: wrong)
        clock.advance(by: .seconds(59))
        // Another address's failures are pruned at most once a window; the first one's stays counted in its window.
        for _ in 1...2 { _ = limiter.failed(address: "10.0.3.2", kind: "agent", otherwise: wrong) }
        clock.advance(by: .seconds(2))
        try limiter.checkAddress("10.0.3.1")
        #expect(limiter.failed(address: "10.0.3.2", kind: "agent", otherwise: wrong).code == .rateLimited)
        #expect(throws: LatchkeyError.self) { try limiter.checkAddress("10.0.3.2") }
    }

    @Test func aKindPastItsFailuresAnswersWrongKeys429ButNeverHoldsBackAnAddress() throws {
        let clock = ManualClock()
        let limiter = limiter(clock, perAddress: 100, perKind: 5)
        let answers = (1...6).map { limiter.failed(address: "10.0.1.\($0)", kind: "admin", otherwise: wrong).code }
        #expect(answers == [.unauthenticated, .unauthenticated, .unauthenticated, .unauthenticated, .rateLimited, .rateLimited])
        // No address is refused before its key is looked at: a right key from any of them is served.
        for n in 1...6 { try limiter.checkAddress("10.0.1.\(n)") }
        // Other kinds are counted apart.
        #expect(limiter.failed(address: "10.0.1.9", kind: "agent", otherwise: wrong).code == .unauthenticated)
    }

    @Test func behindATrustedProxyTheClientIsTheLastUntrustedForwardedAddress() {
        let proxies = [AddressRange("10.0.0.0/8")!]
        #expect(ClientAddress.of(peer: "10.1.2.3", forwardedFor: ["198.51.100.7, 203.0.113.9"], trustedProxies: proxies) == "203.0.113.9")
        #expect(ClientAddress.of(peer: "10.1.2.3", forwardedFor: ["203.0.113.9", "10.4.4.4"], trustedProxies: proxies) == "203.0.113.9")
        // An untrusted peer's header is ignored: it could name anyone.
        #expect(ClientAddress.of(peer: "203.0.113.50", forwardedFor: ["198.51.100.7"], trustedProxies: proxies) == "203.0.113.50")
        // Garbage in the header never becomes an address.
        #expect(ClientAddress.of(peer: "10.1.2.3", forwardedFor: ["not-an-address"], trustedProxies: proxies) == "10.1.2.3")
        #expect(ClientAddress.of(peer: nil, forwardedFor: [], trustedProxies: proxies) == "unknown")
    }

    @Test func theForwardedHeaderIsReadOnlyForATrustedPeer() {
        let proxies = [AddressRange("10.0.0.0/8")!]
        var reads = 0
        func header() -> [String] {
            reads += 1
            return ["198.51.100.7"]
        }
        #expect(ClientAddress.of(peer: "203.0.113.50", forwardedFor: header(), trustedProxies: []) == "203.0.113.50")
        #expect(ClientAddress.of(peer: "203.0.113.50", forwardedFor: header(), trustedProxies: proxies) == "203.0.113.50")
        #expect(ClientAddress.of(peer: nil, forwardedFor: header(), trustedProxies: proxies) == "unknown")
        #expect(reads == 0)
        #expect(ClientAddress.of(peer: "10.1.2.3", forwardedFor: header(), trustedProxies: proxies) == "198.51.100.7")
        #expect(reads == 1)
    }
}
