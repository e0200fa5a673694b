import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Audit

extension PostgresStore {
    public func append(_ e: AuditEvent) async throws {
        try await transaction { tx in try await Self.appendAudit(e, in: tx) }
    }

    /// Appends `e` to its org's chain inside `tx` (also a refresh's transaction): the head row is created or locked
    /// first (`ON CONFLICT … DO UPDATE` holds its lock until COMMIT), so replicas appending to one chain take turns and
    /// never fork it; the unique (chain, seq) index refuses a fork outright.
    static func appendAudit(_ e: AuditEvent, in tx: Transaction) async throws {
        let chain = AuditChain.chain(of: e)
        let head = try await tx.execute(
            """
            INSERT INTO audit_chain_heads (chain, seq, hash) VALUES (\(chain), 0, \(AuditChain.genesis))
            ON CONFLICT (chain) DO UPDATE SET chain = excluded.chain RETURNING seq, hash
            """)
        guard let row = head.first else { throw LatchkeyError(.internalError, "the audit chain's head could not be locked") }
        let seq = try row.required("seq", as: Int64.self) + 1
        let previous = try row.required("hash", as: String.self)
        let at = Self.time(e.at)
        let hash = AuditChain.hash(previous: previous, chain: chain, seq: seq, at: at, event: e)
        try await tx.execute(
            """
            INSERT INTO audit_events (at, actor, action, owner, org, provider, connection_id, outcome, detail, chain, seq, prev_hash, hash)
            VALUES (\(at), \(e.actor.rawValue), \(e.action.rawValue), \(e.owner?.description), \(e.owner?.org),
                \(e.provider?.rawValue), \(e.connectionID?.rawValue), \(e.outcome), \(e.detail), \(chain), \(seq), \(previous), \(hash))
            """)
        try await tx.execute("UPDATE audit_chain_heads SET seq = \(seq), hash = \(hash) WHERE chain = \(chain)")
    }

    /// Chains the events written before the chains existed, oldest first (once, in the migration that adds them).
    static func chainAuditBacklog(in tx: Transaction) async throws {
        var heads: [String: (seq: Int64, hash: String)] = [:]
        for row in try await tx.execute("SELECT * FROM audit_events WHERE hash IS NULL ORDER BY id") {
            let event = try auditEvent(row)
            let chain = AuditChain.chain(of: event)
            let head = heads[chain] ?? (0, AuditChain.genesis)
            let at = try row.required("at", as: Double.self)
            let hash = AuditChain.hash(previous: head.hash, chain: chain, seq: head.seq + 1, at: at, event: event)
            try await tx.execute(
                "UPDATE audit_events SET chain = \(chain), seq = \(head.seq + 1), prev_hash = \(head.hash), hash = \(hash) WHERE id = \(event.id ?? 0)")
            heads[chain] = (head.seq + 1, hash)
        }
        for (chain, head) in heads {
            try await tx.execute("INSERT INTO audit_chain_heads (chain, seq, hash) VALUES (\(chain), \(head.seq), \(head.hash))")
        }
    }

    public func chainedEvents(afterID: Int64, chain: String?, since: Date?, limit: Int) async throws -> [ChainedAuditEvent] {
        var filter = PostgresFilter([])
        filter.add("id > $?", afterID)
        if let chain { filter.add("chain = $?", chain) }
        if let since { filter.add("at >= $?", Self.time(since)) }
        var binds = filter.binds
        binds.append(limit)
        return try await execute(
            PostgresQuery(unsafeSQL: "SELECT * FROM audit_events\(filter.whereSQL) ORDER BY id LIMIT $\(binds.count)", binds: binds)
        ).map(Self.chainedEvent)
    }

    public func auditChain(_ chain: String, afterSeq: Int64, limit: Int) async throws -> [ChainedAuditEvent] {
        try await execute("SELECT * FROM audit_events WHERE chain = \(chain) AND seq > \(afterSeq) ORDER BY seq LIMIT \(limit)")
            .map(Self.chainedEvent)
    }

    public func auditChainNames() async throws -> [String] {
        try await execute("SELECT DISTINCT chain FROM audit_events WHERE chain IS NOT NULL ORDER BY chain").map { try $0.required("chain") }
    }

    public func unchainedAuditEvents(limit: Int) async throws -> [ChainedAuditEvent] {
        try await execute(
            """
            SELECT * FROM audit_events WHERE chain IS NULL OR seq IS NULL OR prev_hash IS NULL OR hash IS NULL ORDER BY id LIMIT \(limit)
            """
        ).map(Self.chainedEvent)
    }

    static func chainedEvent(_ row: PostgresRandomAccessRow) throws -> ChainedAuditEvent {
        ChainedAuditEvent(
            event: try auditEvent(row), at: try row.required("at", as: Double.self), chain: try row.value("chain", as: String?.self),
            seq: try row.value("seq", as: Int64?.self), previousHash: try row.value("prev_hash", as: String?.self),
            hash: try row.value("hash", as: String?.self))
    }

    public func auditChainHeads() async throws -> [AuditChainHead] {
        try await execute("SELECT * FROM audit_chain_heads ORDER BY chain").map { row in
            AuditChainHead(chain: try row.required("chain"), seq: try row.required("seq"), hash: try row.required("hash"))
        }
    }

    public func events(_ query: AuditQuery) async throws -> [AuditEvent] {
        try await AuditQueryPlan(query).run { conditions in
            var filter = PostgresFilter([])
            for condition in conditions {
                switch condition {
                case .equals(let column, let value): Self.add("\(column) = $?", value, to: &filter)
                case .atLeast(let column, let value): Self.add("\(column) >= $?", value, to: &filter)
                case .below(let column, let value): Self.add("\(column) < $?", value, to: &filter)
                case .startsWith(let column, let prefix): filter.add("starts_with(\(column), $?)", prefix)
                }
            }
            var binds = filter.binds
            binds.append(AuditQueryPlan.pageSize)
            return try await execute(
                PostgresQuery(unsafeSQL: "SELECT * FROM audit_events\(filter.whereSQL) ORDER BY id DESC LIMIT $\(binds.count)", binds: binds)
            ).map(Self.auditEvent)
        }
    }

    static func add(_ clause: String, _ value: AuditQueryPlan.Value, to filter: inout PostgresFilter) {
        switch value {
        case .text(let text): filter.add(clause, text)
        case .real(let number): filter.add(clause, number)
        case .integer(let number): filter.add(clause, number)
        }
    }

    static func auditEvent(_ row: PostgresRandomAccessRow) throws -> AuditEvent {
        AuditEvent(
            id: try row.value("id", as: Int64.self), at: Date(timeIntervalSince1970: try row.value("at")), actor: AuditActor(rawValue: try row.value("actor")),
            action: AuditAction(rawValue: try row.value("action")), owner: try row.value("owner", as: String?.self).flatMap { try? OwnerRef(parsing: $0) },
            provider: try row.value("provider", as: String?.self).map { ProviderID($0) },
            connectionID: try row.value("connection_id", as: String?.self).map { ConnectionID(rawValue: $0) }, outcome: try row.value("outcome"),
            detail: try row.value("detail"))
    }
}
