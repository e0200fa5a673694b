import HTTPTypes
import Hummingbird
import LatchkeyModel
import Logging
import NIOCore

/// The request context every route starts with: Hummingbird's core storage plus what the authentication middlewares
/// found. Authenticated routes see it as a typed context instead (`CallerContext`, `AdminContext`, `AgentContext`,
/// `DashboardContext`), whose values are never missing.
public struct LatchkeyContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware on API routes; nil on public routes.
    public var caller: Caller?
    /// Set by the dashboard's session check on `/admin` pages; nil elsewhere.
    var dashboard: DashboardSignIn?
    /// The connection the request came on.
    private let channel: any Channel
    /// The connection's peer address (`nil` when unknown, as for a Unix socket), put into text when asked: only the
    /// failure limiter asks, and only while it counts some address or for a failed key.
    var peerAddress: String? { channel.remoteAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// A request of a signed-in dashboard session, set by `DashboardAuthentication`.
struct DashboardSignIn: Sendable {
    /// The session id from the cookie (never rendered or logged).
    let sessionID: String
    let session: AdminSession
}
