import Foundation
import LatchkeyModel

/// A capability given to an agent (or to a project or team, and so to the agents below it), optionally for one
/// connection only, until a time, or with a person's approval of each call.
public struct Grant: Hashable, Sendable {
    /// Whether a call under the grant runs at once or waits for a person.
    public enum Approval: String, Hashable, Sendable, Codable {
        /// Runs at once.
        case none
        /// Waits until the connection's person or an admin approves that one call.
        case eachCall = "each_call"
    }

    public var capability: Capability
    /// The one connection the grant is for; nil for any connection the agent may use.
    public var connection: ConnectionID?
    /// When the grant stops working; nil for never.
    public var expiresAt: Date?
    public var approval: Approval

    public init(capability: Capability, connection: ConnectionID? = nil, expiresAt: Date? = nil, approval: Approval = .none) {
        self.capability = capability
        self.connection = connection
        self.expiresAt = expiresAt
        self.approval = approval
    }

    /// Whether the grant still works at `now`: an expired grant stops on the next call.
    public func isLive(at now: Date) -> Bool { expiresAt.map { now < $0 } ?? true }

    /// Whether the grant covers `request` at `now`: live, on the request's connection if it names one, and within its
    /// capability.
    public func allows(_ request: AccessRequest, at now: Date) -> Bool {
        isLive(at: now) && (connection == nil || connection == request.connection) && capability.allows(request)
    }

    /// Whether `narrower` gives nothing this grant does not: a capability this one includes, on this grant's
    /// connection (when it names one), ending no later, and asking approval where this one does.
    public func includes(_ narrower: Grant) -> Bool {
        guard capability.includes(narrower.capability) else { return false }
        if let connection, narrower.connection != connection { return false }
        if let expiresAt {
            guard let other = narrower.expiresAt, other <= expiresAt else { return false }
        }
        return approval == .none || narrower.approval == .eachCall
    }
}
