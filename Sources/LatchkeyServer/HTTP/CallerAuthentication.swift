import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import Synchronization

/// Authenticates API calls from their bearer token: the admin key, or an agent key (looked up by hash).
///
/// With `adminOnly`, agent keys are refused with `forbidden`. A missing, wrong or revoked key is
/// `unauthenticated`. Keys are compared only as SHA-256 hashes.
struct CallerAuthentication: RouterMiddleware {
    typealias Context = LatchkeyContext
    let adminKeyHash: String
    let identities: any IdentityStore
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
        } else if token.hasPrefix(AgentKey.prefix), let agent = try await cache.agent(forKeyHash: hash, identities: identities) {
            if adminOnly { throw LatchkeyError(.forbidden, "this route needs the admin key") }
            context.caller = .agent(agent)
        } else {
            throw LatchkeyError(.unauthenticated, "Authorization: the key is wrong or revoked", field: "Authorization")
        }
        return try await next(request, context)
    }
}

/// Agent API keys: `lk_agent_` and 32 random bytes in base64url. Shown once; stored as SHA-256.
public enum AgentKey {
    public static let prefix = "lk_agent_"
    public static func generate() -> String { prefix + RandomToken.base64URL(bytes: 32) }
}

/// Agent keys recently found valid, for one second: a hot agent does not hit the store on every call, and calls that
/// miss together share one read.
/// Revocation in this process clears it at once; another replica's revocation takes effect within the second.
final class AgentKeyCache: Sendable {
    private let entries = Mutex<[String: (agent: OwnerRef, until: Date)]>([:])
    /// Concurrent misses of one key share one store read.
    private let misses = SingleFlight<String, OwnerRef?>()
    let ttl: Duration
    let clock: any LatchkeyClock

    init(ttl: Duration = .seconds(1), clock: any LatchkeyClock) {
        self.ttl = ttl
        self.clock = clock
    }

    func agent(forKeyHash hash: String, identities: any IdentityStore) async throws -> OwnerRef? {
        let now = clock.now
        if let hit = entries.withLock({ $0[hash] }), hit.until > now { return hit.agent }
        guard let agent = try await misses.value(for: hash, read: { try await identities.agent(forKeyHash: hash) }) else {
            _ = entries.withLock { $0.removeValue(forKey: hash) }
            return nil
        }
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[hash] = (agent, now.addingTimeInterval(ttl.timeInterval))
        }
        return agent
    }

    /// Forgets every cached key (after a revocation).
    func clear() { entries.withLock { $0.removeAll() } }
}
