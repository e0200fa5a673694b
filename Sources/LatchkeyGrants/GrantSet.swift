import Foundation
import LatchkeyModel

/// The grants that apply to one agent (its own and those of the project and team above it), and what they allow.
public struct GrantSet: Hashable, Sendable {
    public var grants: [Grant]

    public init(_ grants: [Grant]) { self.grants = grants }

    /// How a call stands under the grants.
    public enum Decision: Hashable, Sendable {
        /// A live grant covers the call; `approval` says whether it may run at once.
        case allowed(approval: Grant.Approval)
        /// No live grant covers the call.
        case notGranted
    }

    /// Whether `request` may run at `now`. A call that one grant allows at once and another only with approval runs
    /// at once: the broader grant was given without that condition.
    public func decide(_ request: AccessRequest, at now: Date) -> Decision {
        let covering = grants.filter { $0.allows(request, at: now) }
        guard !covering.isEmpty else { return .notGranted }
        return .allowed(approval: covering.contains { $0.approval == .none } ? .none : .eachCall)
    }

    /// Whether a key carrying `narrower` stays within these grants at `now`: each of its grants is included in one
    /// live grant here. Judged grant by grant, so a request split across two of these grants is refused.
    public func includes(_ narrower: Grant, at now: Date) -> Bool {
        grants.contains { $0.isLive(at: now) && $0.includes(narrower) }
    }
}
