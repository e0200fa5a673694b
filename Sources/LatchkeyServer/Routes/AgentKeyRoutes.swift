import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyCrypto
import LatchkeyGrants
import LatchkeyModel
import LatchkeyRuntime

/// `POST /v1/keys`: an agent mints a narrowed key (`{"ttl","grants"}`) for a sub-agent or one task, at most what the
/// key it called with may do. The new key is shown once.
struct AgentKeyRoutes {
    let narrowing: KeyNarrowing
    let clock: any LatchkeyClock
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<CallerContext>) {
        let limit = bodyLimit
        group.post("/keys") { request, context in
            let body = try await JSONBody.read(request, limit: limit)
            let parentHash = SecretHash.sha256Hex(request.bearerToken ?? "")
            let minted = try await narrowing.mint(.object(body.object), caller: context.caller, parentHash: parentHash)
            let view = try minted.record.view(at: clock.now)
            return APIResponse.json(
                MintedKey(apiKey: minted.apiKey, id: view.id, depth: view.depth, expiresAt: view.expiresAt, grants: view.grants), status: .created)
        }
    }

    /// The answer to a mint: the key, once.
    struct MintedKey: Encodable {
        var apiKey: String
        var id: String
        var depth: Int
        var expiresAt: Date
        var grants: [GrantView]

        enum CodingKeys: String, CodingKey {
            case id, depth, grants
            case apiKey = "api_key"
            case expiresAt = "expires_at"
        }
    }
}
