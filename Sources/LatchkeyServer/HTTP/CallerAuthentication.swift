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
/// `unauthenticated`. Keys are compared only as SHA-256 hashes.
struct CallerAuthentication: RouterMiddleware {
    typealias Context = LatchkeyContext
    let adminKeyHash: String
    let identities: any IdentityStore & NarrowedKeyStore
    let adminOnly: Bool
    let cache: AgentKeyCache

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.bearerToken else {
            throw LatchkeyError(.unauthenticated, "Authorization: a bearer token is required", field: "Authorization")
        }
        let hash = SecretHash.sha256Hex(token)
        var context = context
        if SecretHash.constantTimeEquals(hash, adminKeyHash) {
            context.caller = .admin
        } else if token.hasPrefix(AgentKey.prefix), let caller = try await cache.caller(forKeyHash: hash, identities: identities) {
            if adminOnly { throw LatchkeyError(.forbidden, "this route needs the admin key") }
            context.caller = caller
        } else {
            throw LatchkeyError(.unauthenticated, "Authorization: the key is wrong or revoked", field: "Authorization")
        }
        return try await next(request, context)
    }
}
