import Foundation
import LatchkeyModel
import LatchkeyOAuth

/// The decisions of one refresh of one connection, apart from its I/O: given what the last step found, which step
/// comes next. The broker does each step (the store, the vault, the provider) and reports back; tests drive the
/// machine without any I/O.
///
/// A refresh takes the connection's refresh lease (one holder across every process sharing the store), then reads
/// the latest row:
/// - holding the lease, it serves a token someone else already refreshed, holds off while this process backs off
///   from earlier failures, and otherwise calls the provider and writes the outcome (compare-and-swap on the
///   version, fenced by the lease);
/// - without it, it serves a newer or still valid token, gives up when the connection needs a person or the
///   holder keeps failing, and otherwise waits for the holder and tries the lease again, until ``waitLimit``.
public struct RefreshMachine: Sendable {
    /// The next step, for the broker to take.
    public enum Action: Sendable {
        /// Try to take the connection's refresh lease; report ``leaseAnswered(taken:)``.
        case takeLease
        /// Read the connection's latest row; report ``latestRead(_:hasRefreshToken:backoffUntil:leaseExpiresAt:now:)``.
        case readLatest
        /// Wait this long for the lease's holder; report ``waited()``.
        case wait(Duration)
        /// Call the provider's token endpoint with the row's refresh token; report ``refreshed(_:expiresAt:scopes:now:)``
        /// or ``refreshFailed(_:error:now:)``.
        case callProvider
        /// Write this row with the new credential; report ``written(won:)``.
        case writeRefreshed(Connection)
        /// Write this row (the failure recorded, the old credential kept); when `transient`, keep other processes out
        /// while this one backs off. Then end as `then` says.
        case writeFailure(Connection, transient: Bool, then: Ending)
        /// End: serve the credential of the row last read, as it is.
        case useLatest
        /// End: serve the credential just written.
        case useRefreshed
        /// End: someone else wrote first; read the row again and serve whatever it holds.
        case useWhateverIsStored
        /// End with this error.
        case giveUp(LatchkeyError)
    }

    /// How a failed refresh ends once its failure is written.
    public enum Ending: Sendable {
        /// The old token is still valid: serve it.
        case useOld
        case fail(LatchkeyError)
    }

    private enum Phase: Equatable { case idle, takingLease, reading, waiting, calling, writing, done }

    public let connectionID: ConnectionID
    /// The version the caller read: a newer active row means someone else has refreshed already.
    public let seenVersion: Int
    /// When waiting for another process's refresh gives up.
    public let waitLimit: Date
    /// How long to wait between looks at another process's refresh.
    public static let pollInterval: Duration = .milliseconds(100)

    /// Whether this refresh holds the connection's lease now.
    public private(set) var holdsLease = false
    private var phase = Phase.idle

    public init(connectionID: ConnectionID, seenVersion: Int, waitLimit: Date) {
        self.connectionID = connectionID
        self.seenVersion = seenVersion
        self.waitLimit = waitLimit
    }

    public mutating func start() -> Action {
        precondition(phase == .idle, "a refresh starts once")
        phase = .takingLease
        return .takeLease
    }

    public mutating func leaseAnswered(taken: Bool) -> Action {
        precondition(phase == .takingLease, "a lease answer comes after .takeLease")
        holdsLease = taken
        phase = .reading
        return .readLatest
    }

    /// What the latest read found: `row` is nil when the connection or its credential is gone; `backoffUntil` is
    /// when this process's backoff for the connection ends; `leaseExpiresAt` is the other holder's lease expiry,
    /// needed only without the lease and only when the row records a failure.
    public mutating func latestRead(
        _ row: Connection?, hasRefreshToken: Bool, backoffUntil: Date?, leaseExpiresAt: Date?, now: Date
    ) -> Action {
        precondition(phase == .reading, "a read answer comes after .readLatest")
        guard let row else { return end(.giveUp(LatchkeyError(.notFound, "connection \(connectionID) is gone"))) }
        // Someone refreshed since the caller read the connection: theirs is the fresh token.
        if row.version > seenVersion, row.state == .active { return end(.useLatest) }
        let stillValid = row.expiresAt.map { $0 > now } ?? false
        if holdsLease {
            // A connection that keeps failing is not tried again before its backoff ends.
            if let backoffUntil, backoffUntil > now {
                return end(stillValid ? .useLatest : .giveUp(Self.keepsFailing(row, until: backoffUntil, now: now)))
            }
            guard hasRefreshToken else { return end(.useLatest) }
            phase = .calling
            return .callProvider
        }
        // Someone else is refreshing, and this token still works: no need to wait.
        if stillValid { return end(.useLatest) }
        if row.state == .needsReauth { return end(.giveUp(Self.reauthRequired(row))) }
        // The last refresh failed and its process holds the others off while it backs off: say so now.
        if row.lastError != nil, let leaseExpiresAt, leaseExpiresAt > now.addingTimeInterval(1) {
            return end(.giveUp(Self.keepsFailing(row, until: leaseExpiresAt, now: now)))
        }
        guard now < waitLimit else {
            return end(.giveUp(LatchkeyError(
                .providerUnavailable, "another Latchkey process has been refreshing connection \(connectionID) for too long; try again")))
        }
        phase = .waiting
        return .wait(Self.pollInterval)
    }

    public mutating func waited() -> Action {
        precondition(phase == .waiting, "a wait ends after .wait")
        phase = .takingLease
        return .takeLease
    }

    /// The provider granted a new token: the row to write (active again, its expiry and scopes the grant's).
    public mutating func refreshed(_ row: Connection, expiresAt: Date?, scopes: [String]?, now: Date) -> Action {
        precondition(phase == .calling, "a provider answer comes after .callProvider")
        var row = row
        var lifecycle = ConnectionLifecycle(row.state)
        row.state = (try? lifecycle.apply(.refreshed)) ?? row.state
        row.expiresAt = expiresAt
        row.lastRefreshedAt = now
        row.lastError = nil
        row.updatedAt = now
        if let scopes { row.scopesGranted = scopes }
        phase = .writing
        return .writeRefreshed(row)
    }

    /// The provider refused the refresh or could not be reached. `invalid_grant` and `unauthorized_client` end the
    /// grant (RFC 6749 §5.2): the connection needs a person. Anything else is transient: the old token is served
    /// while it is valid, and the connection backs off.
    public mutating func refreshFailed(_ row: Connection, error: LatchkeyError, now: Date) -> Action {
        precondition(phase == .calling, "a provider failure comes after .callProvider")
        let final = error.oauthError.map { OAuthErrorCode($0).endsTheGrant } ?? false
        var row = row
        var lifecycle = ConnectionLifecycle(row.state)
        let stillValid = row.expiresAt.map { $0 > now } ?? false
        if final {
            row.state = (try? lifecycle.apply(.refreshRejected)) ?? row.state
        } else if !stillValid, row.expiresAt != nil {
            row.state = (try? lifecycle.apply(.refreshFailedAfterExpiry)) ?? row.state
        }
        row.lastError = error.oauthError ?? error.code.rawValue
        row.updatedAt = now
        phase = .done
        let then: Ending = final ? .fail(Self.reauthRequired(row)) : stillValid ? .useOld : .fail(error)
        return .writeFailure(row, transient: !final, then: then)
    }

    /// The refreshed row's write: `won` unless someone else wrote first (an admin, or a process that took over a
    /// lapsed lease), whose row is then the newer one.
    public mutating func written(won: Bool) -> Action {
        precondition(phase == .writing, "a write answer comes after .writeRefreshed")
        return end(won ? .useRefreshed : .useWhateverIsStored)
    }

    private mutating func end(_ action: Action) -> Action {
        phase = .done
        return action
    }

    static func reauthRequired(_ row: Connection) -> LatchkeyError {
        LatchkeyError(.reauthRequired, "\(row.provider) refused the refresh token; the account must be connected again")
    }

    static func keepsFailing(_ row: Connection, until: Date, now: Date) -> LatchkeyError {
        LatchkeyError(
            .providerUnavailable,
            "refreshing \(row.provider) keeps failing (\(row.lastError ?? "unknown")); next attempt in \(Int(until.timeIntervalSince(now).rounded(.up))) s")
    }
}
