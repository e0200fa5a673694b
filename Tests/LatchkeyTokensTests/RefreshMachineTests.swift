import Foundation
import LatchkeyModel
import LatchkeyTokens
import Testing

/// The refresh's decisions, driven without any I/O.
@Suite struct RefreshMachineTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func row(version: Int = 3, state: ConnectionState = .active, expiresIn: TimeInterval? = -1, lastError: String? = nil) throws -> Connection {
        Connection(
            id: ConnectionID(rawValue: "conn_1"), provider: "acme", owner: try OwnerRef(parsing: "org:acme"), state: state,
            expiresAt: expiresIn.map { now.addingTimeInterval($0) }, lastError: lastError, createdAt: now, updatedAt: now, version: version)
    }

    /// A machine that has asked for the latest row, with or without the lease.
    func reading(holdingLease: Bool, seenVersion: Int = 3, waitLimit: TimeInterval = 35) -> RefreshMachine {
        var machine = RefreshMachine(connectionID: ConnectionID(rawValue: "conn_1"), seenVersion: seenVersion, waitLimit: now.addingTimeInterval(waitLimit))
        guard case .takeLease = machine.start(), case .readLatest = machine.leaseAnswered(taken: holdingLease) else {
            Issue.record("a refresh starts by taking the lease, then reads")
            return machine
        }
        return machine
    }

    enum Step: Equatable { case useLatest, callProvider, wait, giveUp(LatchkeyError.Code) }

    static func step(_ action: RefreshMachine.Action) -> Step? {
        switch action {
        case .useLatest: .useLatest
        case .callProvider: .callProvider
        case .wait: .wait
        case .giveUp(let error): .giveUp(error.code)
        default: nil
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var holdsLease: Bool
        var version = 3
        var state = ConnectionState.active
        var expiresIn: TimeInterval? = -1
        var lastError: String?
        var hasRefreshToken = true
        var backoffEndsIn: TimeInterval?
        var othersLeaseEndsIn: TimeInterval?
        var pastWaitLimit = false
        var expected: Step
    }

    static let cases: [Case] = [
        Case(testDescription: "gone", holdsLease: true, version: -1, expected: .giveUp(.notFound)),
        Case(testDescription: "someone refreshed since the caller read (holder)", holdsLease: true, version: 4, expected: .useLatest),
        Case(testDescription: "someone refreshed since the caller read (waiter)", holdsLease: false, version: 4, expected: .useLatest),
        Case(testDescription: "the holder refreshes an expired token", holdsLease: true, expected: .callProvider),
        Case(testDescription: "the holder refreshes a due token that still works", holdsLease: true, expiresIn: 60, expected: .callProvider),
        Case(testDescription: "no refresh token: the holder serves what there is", holdsLease: true, hasRefreshToken: false, expected: .useLatest),
        Case(testDescription: "backing off, token still valid: served", holdsLease: true, expiresIn: 60, backoffEndsIn: 4, expected: .useLatest),
        Case(testDescription: "backing off, token expired: refused at once", holdsLease: true, backoffEndsIn: 4, expected: .giveUp(.providerUnavailable)),
        Case(testDescription: "a backoff that ended lets the holder try", holdsLease: true, backoffEndsIn: 0, expected: .callProvider),
        Case(testDescription: "without the lease, a valid token is served at once", holdsLease: false, expiresIn: 60, expected: .useLatest),
        Case(testDescription: "without the lease, needs a person", holdsLease: false, state: .needsReauth, expected: .giveUp(.reauthRequired)),
        Case(
            testDescription: "the holder keeps failing and keeps the others out", holdsLease: false, lastError: "server_error",
            othersLeaseEndsIn: 10, expected: .giveUp(.providerUnavailable)),
        Case(
            testDescription: "a failure whose lease is about to lapse is waited for", holdsLease: false, lastError: "server_error",
            othersLeaseEndsIn: 0.5, expected: .wait),
        Case(testDescription: "without the lease, an expired token waits for the holder", holdsLease: false, expected: .wait),
        Case(testDescription: "waiting too long gives up", holdsLease: false, pastWaitLimit: true, expected: .giveUp(.providerUnavailable)),
    ]

    @Test(arguments: cases) func afterReadingTheLatestRow(_ c: Case) throws {
        var machine = reading(holdingLease: c.holdsLease, waitLimit: c.pastWaitLimit ? -1 : 35)
        let latest = c.version < 0 ? nil : try row(version: c.version, state: c.state, expiresIn: c.expiresIn, lastError: c.lastError)
        let action = machine.latestRead(
            latest, hasRefreshToken: c.hasRefreshToken, backoffUntil: c.backoffEndsIn.map { now.addingTimeInterval($0) },
            leaseExpiresAt: c.othersLeaseEndsIn.map { now.addingTimeInterval($0) }, now: now)
        #expect(Self.step(action) == c.expected)
    }

    @Test func waitingForTheHolderTriesTheLeaseAgain() throws {
        var machine = reading(holdingLease: false)
        guard case .wait(let pause) = machine.latestRead(try row(), hasRefreshToken: true, backoffUntil: nil, leaseExpiresAt: nil, now: now) else {
            Issue.record("an expired token without the lease waits")
            return
        }
        #expect(pause == RefreshMachine.pollInterval)
        guard case .takeLease = machine.waited(), case .readLatest = machine.leaseAnswered(taken: true) else {
            Issue.record("after waiting, the lease is tried again")
            return
        }
        #expect(machine.holdsLease)
    }

    @Test func aGrantIsWrittenActiveWithItsExpiryAndScopesAndItsErrorCleared() throws {
        var machine = reading(holdingLease: true)
        let failing = try row(state: .error, lastError: "server_error")
        _ = machine.latestRead(failing, hasRefreshToken: true, backoffUntil: nil, leaseExpiresAt: nil, now: now)
        guard case .writeRefreshed(let written) = machine.refreshed(failing, expiresAt: now.addingTimeInterval(3600), scopes: ["read"], now: now)
        else {
            Issue.record("a grant is written")
            return
        }
        #expect(written.state == .active && written.lastError == nil && written.scopesGranted == ["read"])
        #expect(written.expiresAt == now.addingTimeInterval(3600) && written.lastRefreshedAt == now && written.version == failing.version)
        guard case .useRefreshed = machine.written(won: true) else {
            Issue.record("a won write serves the new token")
            return
        }
    }

    @Test func aLostWriteServesWhateverTheStoreHolds() throws {
        var machine = reading(holdingLease: true)
        let expired = try row()
        _ = machine.latestRead(expired, hasRefreshToken: true, backoffUntil: nil, leaseExpiresAt: nil, now: now)
        _ = machine.refreshed(expired, expiresAt: nil, scopes: nil, now: now)
        guard case .useWhateverIsStored = machine.written(won: false) else {
            Issue.record("a lost write reads the winner's row")
            return
        }
    }

    struct Failure: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var error: LatchkeyError
        var expiresIn: TimeInterval
        var state: ConnectionState
        var transient: Bool
        var ends: LatchkeyError.Code?
    }

    static let failures: [Failure] = [
        Failure(
            testDescription: "invalid_grant ends the grant", error: LatchkeyError(.invalidProviderResponse, "refused", oauthError: "invalid_grant"),
            expiresIn: 60, state: .needsReauth, transient: false, ends: .reauthRequired),
        Failure(
            testDescription: "unauthorized_client ends the grant",
            error: LatchkeyError(.invalidProviderResponse, "refused", oauthError: "unauthorized_client"), expiresIn: -1, state: .needsReauth,
            transient: false, ends: .reauthRequired),
        Failure(
            testDescription: "a server error while the token works serves the old token",
            error: LatchkeyError(.providerUnavailable, "down"), expiresIn: 60, state: .active, transient: true, ends: nil),
        Failure(
            testDescription: "a server error after expiry fails the call and marks the connection",
            error: LatchkeyError(.providerUnavailable, "down"), expiresIn: -1, state: .error, transient: true, ends: .providerUnavailable),
        Failure(
            testDescription: "another RFC 6749 error is transient", error: LatchkeyError(.invalidProviderResponse, "no", oauthError: "invalid_request"),
            expiresIn: 60, state: .active, transient: true, ends: nil),
    ]

    @Test(arguments: failures) func aFailedRefresh(_ f: Failure) throws {
        var machine = reading(holdingLease: true)
        let current = try row(expiresIn: f.expiresIn)
        _ = machine.latestRead(current, hasRefreshToken: true, backoffUntil: nil, leaseExpiresAt: nil, now: now)
        guard case .writeFailure(let written, let transient, let then) = machine.refreshFailed(current, error: f.error, now: now) else {
            Issue.record("a failure is written")
            return
        }
        #expect(written.state == f.state)
        #expect(written.lastError == (f.error.oauthError ?? f.error.code.rawValue))
        #expect(transient == f.transient)
        switch then {
        case .useOld: #expect(f.ends == nil)
        case .fail(let error): #expect(error.code == f.ends)
        }
    }
}
