import Foundation
import LatchkeyModel
import LatchkeyStore
import LatchkeyTestSupport
import LatchkeyTokens
import Testing

/// The token broker against the in-memory store, a token endpoint in memory and the manual clock.
@Suite struct TokenBrokerTests {
    @Test func concurrentCallersShareOneRefresh() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: "r2", expiresIn: 3600)])
        let broker = h.broker()
        let stored = try await h.stored()
        h.provider.hold()
        let tokens = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { try await broker.credential(for: stored).1.accessToken } }
            await h.provider.calls(atLeast: 1)
            h.provider.release()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // A caller that came after the refresh ended found the newer version and did not call the provider either.
        #expect(h.provider.sentRefreshTokens == ["r1"])
        #expect(Set(tokens) == ["a1"])
        #expect(try await h.stored().connection.version == stored.connection.version + 1)
        #expect(try await h.auditActions() == ["connection.refreshed"])
    }

    @Test func aTokenThatIsNotDueIsServedWithoutARefresh() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 3600)], expiresIn: 3600)
        let (_, credential) = try await h.broker().credential(for: try await h.stored())
        #expect(credential.accessToken == "a0")
        #expect(h.provider.sentRefreshTokens.isEmpty)
    }

    @Test func aRotatedRefreshTokenIsStoredAndSentNextTime() async throws {
        let h = try await ConnectionHarness([
            .token(access: "a1", refresh: "r2", expiresIn: 60), .token(access: "a2", refresh: "r3", expiresIn: 60),
        ])
        let broker = h.broker()
        _ = try await broker.credential(for: try await h.stored())
        #expect(try await h.storedCredential().refreshToken == "r2")
        _ = try await broker.credential(for: try await h.stored(), force: true)
        #expect(h.provider.sentRefreshTokens == ["r1", "r2"])
        #expect(try await h.storedCredential() == Credential(accessToken: "a2", refreshToken: "r3", tokenType: "Bearer"))
    }

    @Test func aProviderThatSendsNoRefreshTokenKeepsTheOldOne() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 60)])
        let (connection, credential) = try await h.broker().credential(for: try await h.stored())
        #expect(credential.accessToken == "a1" && credential.refreshToken == "r1")
        #expect(try await h.storedCredential().refreshToken == "r1")
        #expect(connection.expiresAt == h.clock.now.addingTimeInterval(60) && connection.lastRefreshedAt == h.clock.now)
    }

    @Test func invalidGrantMovesTheConnectionToNeedsReauth() async throws {
        let h = try await ConnectionHarness([.error(status: 400, code: "invalid_grant")])
        let broker = h.broker()
        await #expect(throws: LatchkeyError.self) { _ = try await broker.credential(for: try await h.stored()) }
        let stored = try await h.stored()
        #expect(stored.connection.state == .needsReauth && stored.connection.lastError == "invalid_grant")
        #expect(try await h.storedCredential().refreshToken == "r1")
        #expect(try await h.auditActions() == ["connection.refresh_failed"])
        #expect(h.provider.sentRefreshTokens == ["r1"])
    }

    @Test func transientFailuresBackOffOneTwoFourSecondsAndServeTheOldTokenWhileItWorks() async throws {
        let h = try await ConnectionHarness([.error(status: 503, code: "temporarily_unavailable")], expiresIn: 10)
        let broker = h.broker()
        // The token still works for 10 s: each failure serves it, and backs off.
        let (_, first) = try await broker.credential(for: try await h.stored())
        #expect(first.accessToken == "a0")
        #expect(broker.backingOffUntil(h.connectionID) == h.clock.now.addingTimeInterval(1))
        // Within the backoff, no call reaches the provider.
        _ = try await broker.credential(for: try await h.stored())
        #expect(h.provider.sentRefreshTokens.count == 1)
        h.clock.advance(by: .seconds(1))
        _ = try await broker.credential(for: try await h.stored())
        #expect(h.provider.sentRefreshTokens.count == 2)
        #expect(broker.backingOffUntil(h.connectionID) == h.clock.now.addingTimeInterval(2))
        h.clock.advance(by: .seconds(2))
        _ = try await broker.credential(for: try await h.stored())
        #expect(broker.backingOffUntil(h.connectionID) == h.clock.now.addingTimeInterval(4))
        // Once the token has expired, a failure fails the call with the provider's answer and marks the connection...
        h.clock.advance(by: .seconds(7))
        await #expect(throws: LatchkeyError.self) { _ = try await broker.credential(for: try await h.stored()) }
        #expect(h.provider.sentRefreshTokens.count == 4)
        #expect(try await h.stored().connection.state == .error)
        // ...and a call within the next backoff (8 s) fails at once without reaching the provider.
        h.clock.advance(by: .seconds(6))
        do {
            _ = try await broker.credential(for: try await h.stored())
            Issue.record("an expired token was served")
        } catch let error as LatchkeyError {
            #expect(error.code == .providerUnavailable && error.message.contains("next attempt in 2 s"))
        }
        #expect(h.provider.sentRefreshTokens.count == 4)
    }

    @Test func anotherProcessWaitsForTheLeaseHolderAndServesItsToken() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: "r2", expiresIn: 3600)], expiresIn: -1)
        let a = h.broker(holder: "process-a"), b = h.broker(holder: "process-b")
        let stored = try await h.stored()
        h.provider.hold()
        let first = Task { try await a.credential(for: stored) }
        await h.provider.calls(atLeast: 1)
        // B finds the lease taken and the token expired: it waits on the clock for A's write.
        let second = Task { try await b.credential(for: stored) }
        await h.clock.sleepers(atLeast: 1)
        h.provider.release()
        #expect(try await first.value.1.accessToken == "a1")
        h.clock.advance(by: RefreshMachine.pollInterval)
        #expect(try await second.value.1.accessToken == "a1")
        #expect(h.provider.sentRefreshTokens == ["r1"])
    }

    @Test func aLapsedLeaseIsTakenOverAndTheOldHoldersLateWriteIsFencedOut() async throws {
        let h = try await ConnectionHarness(
            [.token(access: "from-a", refresh: "ra", expiresIn: 3600), .token(access: "from-b", refresh: "rb", expiresIn: 3600)], expiresIn: -1)
        let a = h.broker(holder: "process-a"), b = h.broker(holder: "process-b")
        let stored = try await h.stored()
        h.provider.hold()
        // A takes the lease and hangs in the provider call until its lease lapses.
        let stalled = Task { try await a.credential(for: stored) }
        await h.provider.calls(atLeast: 1)
        h.clock.advance(by: .seconds(ConnectionHarness.leaseTTL + 1))
        // B takes the lapsed lease over and refreshes.
        let taker = Task { try await b.credential(for: stored) }
        await h.provider.calls(atLeast: 2)
        h.provider.release()
        #expect(try await taker.value.1.accessToken == "from-b")
        // A's answer arrives late: its write is fenced out, and it serves B's token instead.
        #expect(try await stalled.value.1.accessToken == "from-b")
        #expect(try await h.storedCredential() == Credential(accessToken: "from-b", refreshToken: "rb", tokenType: "Bearer"))
        #expect(try await h.stored().connection.version == stored.connection.version + 1)
    }

    @Test func aConnectionWithoutAnAppFailsWithAppNotConfiguredAndReleasesItsLease() async throws {
        let h = try await ConnectionHarness([.token(access: "a1", refresh: nil, expiresIn: 60)], withApp: false)
        do {
            _ = try await h.broker().credential(for: try await h.stored())
            Issue.record("a refresh ran without an app")
        } catch let error as LatchkeyError {
            #expect(error.code == .appNotConfigured)
        }
        // The lease was given back: another process may take it at once.
        #expect(try await h.store.acquireRefreshLease(h.connectionID, holder: "process-b", now: h.clock.now, ttl: 30) != nil)
    }
}

/// The backoff schedule: doubling from one second, capped, shortened by up to a fifth at random.
@Suite struct RefreshBackoffTests {
    @Test(arguments: [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (20, 60.0)])
    func theDelayDoublesUpToTheCap(_ failures: Int, _ seconds: TimeInterval) {
        #expect(RefreshBackoff.delay(failures: failures, maxDelay: 60, random: 1) == seconds)
        #expect(RefreshBackoff.delay(failures: failures, maxDelay: 60, random: 0) == seconds * 0.8)
    }

    @Test func aSuccessStartsTheScheduleOver() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let id = ConnectionID(rawValue: "conn_1")
        var backoff = RefreshBackoff()
        _ = backoff.failed(id, now: now, random: 1)
        #expect(backoff.failed(id, now: now, random: 1) == now.addingTimeInterval(2))
        #expect(backoff.until(id, now: now.addingTimeInterval(2)) == nil)
        backoff.succeeded(id)
        #expect(backoff.failed(id, now: now, random: 1) == now.addingTimeInterval(1))
    }
}
