import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Authenticates API calls from their bearer token: the admin key, or an agent key, its own or a narrowed one
/// (looked up by hash; a narrowed key holds the agent to its scope until it expires).
///
/// With `adminOnly`, agent keys are refused with `forbidden`. A missing, wrong or revoked key is
/// `unauthenticated`, and counts against the client's address (see ``AuthFailureLimiter``). Keys are compared only
/// as SHA-256 hashes.
struct CallerAuthentication: RouterMiddleware {
    typealias Context = LatchkeyContext
    let adminKeyHash: String
    let identities: any IdentityStore & NarrowedKeyStore
    let adminOnly: Bool
    let cache: AgentKeyCache
    /// Counts wrong keys per client address and kind of key; past its limits, 429.
    let failures: AuthFailureLimiter

    @concurrent func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.caller = try await caller(of: request, peer: context.peerAddress)
        return try await next(request, context)
    }

    /// Who sent `request` from `peer`, or the error to answer with. `peer` is asked for only when an address is
    /// counted or a key fails.
    func caller(of request: Request, peer: @autoclosure () -> String?) async throws -> Caller {
        guard let token = request.bearerToken else {
            throw LatchkeyError(.unauthenticated, "Authorization: a bearer token is required", field: "Authorization")
        }
        try failures.checkAddress(failures.address(of: request.headers, peer: peer()))
        let hash = SecretHash.sha256Hex(token)
        if SecretHash.constantTimeEquals(hash, adminKeyHash) { return .admin }
        if token.hasPrefix(AgentKey.prefix), let caller = try await cache.caller(forKeyHash: hash, identities: identities) {
            if adminOnly { throw LatchkeyError(.forbidden, "this route needs the admin key") }
            return caller
        }
        let kind = token.hasPrefix("lk_admin_") ? "admin" : token.hasPrefix(AgentKey.prefix) ? "agent" : "other"
        throw failures.failed(
            address: failures.address(of: request.headers, peer: peer()), kind: kind,
            otherwise: LatchkeyError(.unauthenticated, "Authorization: the key is wrong or revoked", field: "Authorization"))
    }
}
