import Foundation
import LatchkeyCrypto
import LatchkeyManifest
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore

/// Mints narrowed keys: an agent hands a sub-agent or one task a short-lived key that carries at most what the
/// agent (or the narrowed key it called with) may do now. Each grant of the new key must be covered, or the whole
/// request is refused with `exceeds_parent` naming the grant; nothing is stored then.
public struct KeyNarrowing: Sendable {
    /// How many times a key can be narrowed: an agent's key → 1 → 2 → 3.
    public static let maxDepth = 3
    /// The longest a narrowed key lives: a day. It never outlives the narrowed key it was minted from.
    public static let longestTTL: TimeInterval = 24 * 3600

    let store: any NarrowedKeyStore
    let access: AccessGuard
    let catalog: ProviderCatalog
    let audit: AuditTrail
    let clock: any LatchkeyClock

    public init(store: any NarrowedKeyStore, access: AccessGuard, catalog: ProviderCatalog, audit: AuditTrail, clock: any LatchkeyClock) {
        self.store = store
        self.access = access
        self.catalog = catalog
        self.audit = audit
        self.clock = clock
    }

    /// A new key, shown once.
    public struct Minted: Sendable {
        public var apiKey: String
        public var record: NarrowedKeyRecord
    }

    /// Mints a key from `body` (`{"ttl": "15m", "grants": [...]}`) for `caller`, which authenticated with the key
    /// whose hash is `parentHash`.
    /// How long an expired key stays in the admins' listing (marked expired) before it is deleted.
    public static let listedAfterExpiry: TimeInterval = 24 * 3600

    public func mint(_ body: JSONValue, caller: Caller, parentHash: String) async throws -> Minted {
        guard case .agent(let agent, let scope, _) = caller, let standing = try await access.standing(of: caller) else {
            throw LatchkeyError(.forbidden, "only an agent mints narrowed keys, from its own key")
        }
        guard case .object(let object) = body else { throw LatchkeyError(.invalidRequest, "body: must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { $0 != "ttl" && $0 != "grants" }) {
            throw LatchkeyError(.invalidRequest, "\(unknown): not a field of a key request (ttl, grants)", field: unknown)
        }
        let depth = (scope?.depth ?? 0) + 1
        guard depth <= Self.maxDepth else {
            throw LatchkeyError(.exceedsParent, "a key can be narrowed at most \(Self.maxDepth) times; this one is at depth \(depth - 1)")
        }
        guard case .string(let rawTTL)? = object["ttl"] else { throw LatchkeyError(.invalidRequest, "ttl: required, such as 15m", field: "ttl") }
        let now = standing.now
        // Whole seconds, as the API shows it: a whole-second instant reads back from every store to the last bit, so a
        // key narrowed from this one can end exactly when it does.
        let ttl = try GrantReader.duration(rawTTL, field: "ttl", longest: Self.longestTTL)
        var expiresAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + ttl).rounded(.down))
        if let scope { expiresAt = min(expiresAt, scope.expiresAt) }
        var grants = try GrantReader(now: now, catalog: catalog).grants(object["grants"])
        guard !grants.isEmpty else { throw LatchkeyError(.invalidRequest, "grants: at least one", field: "grants") }
        let catalog = self.catalog
        for index in grants.indices {
            // No grant outlives its key.
            grants[index].expiresAt = min(grants[index].expiresAt ?? expiresAt, expiresAt)
            // A remote MCP server's tool may write (its hints are the server's word, read at call time): count it as a write.
            let isWrite = { (provider: ProviderID, tool: String) in
                guard let manifest = catalog.manifests[provider] else { return false }
                return manifest.kind == .mcp || manifest.tool(named: tool)?.access == .write
            }
            guard standing.covers(grants[index], isWriteTool: isWrite) else {
                let parent = scope.map { "the narrowed key \($0.keyID)" } ?? "\(agent)"
                throw LatchkeyError(
                    .exceedsParent, "grants[\(index)]: \(GrantDirectory.summary([grants[index]])) is more than \(parent) may do",
                    field: "grants[\(index)]")
            }
        }
        let apiKey = AgentKey.generate()
        let record = NarrowedKeyRecord(
            keyHash: SecretHash.sha256Hex(apiKey), agent: agent, parentHash: parentHash, depth: depth, grants: grants.map(\.stored),
            createdAt: now, expiresAt: expiresAt)
        try await store.addNarrowedKey(record)
        // Keys that ended over a day ago are gone from the admins' listing; failing to purge them costs nothing now.
        _ = try? await store.purgeNarrowedKeys(expiredBefore: now.addingTimeInterval(-Self.listedAfterExpiry))
        let scopeOfNew = KeyScope(keyHash: record.keyHash, depth: depth, grants: record.grants, expiresAt: expiresAt)
        let parentID = scope?.keyID ?? "key_" + parentHash.prefix(12)
        await audit.record(AuditEvent(
            at: now, actor: AuditActor(caller), action: .agentKeyNarrowed, owner: agent,
            detail: "\(scopeOfNew.keyID) from \(parentID), depth \(depth): \(GrantDirectory.summary(grants))"))
        return Minted(apiKey: apiKey, record: record)
    }
}
