import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Audit

extension SQLiteStore {
    public func append(_ e: AuditEvent) async throws {
        try await pool.write { db in try Self.insertAudit(db, e) }
    }

    /// Appends `e` to its org's chain: the head is read and moved in the caller's write transaction, which SQLite
    /// serializes, and the unique (chain, seq) index refuses a fork outright.
    static func insertAudit(_ db: Database, _ e: AuditEvent) throws {
        let chain = AuditChain.chain(of: e)
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_chain_heads WHERE chain = ?"), arguments: [chain])
        let seq = try head.map { try required($0, "seq", as: Int64.self) + 1 } ?? 1
        let previous = try head.map { try required($0, "hash", as: String.self) } ?? AuditChain.genesis
        let at = time(e.at)
        let hash = AuditChain.hash(previous: previous, chain: chain, seq: seq, at: at, event: e)
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            at, e.actor.rawValue, e.action.rawValue, e.owner?.description, e.owner?.org, e.provider?.rawValue,
            e.connectionID?.rawValue, e.outcome, e.detail, chain, seq, previous, hash,
        ]
        try db.execute(
            sql: """
                INSERT INTO audit_events (at, actor, action, owner, org, provider, connection_id, outcome, detail, chain, seq, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: StatementArguments(values.map { $0 ?? DatabaseValue.null }))
        try db.execute(
            sql: """
                INSERT INTO audit_chain_heads (chain, seq, hash) VALUES (?, ?, ?)
                ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
                """,
            arguments: [chain, seq, hash])
    }

    /// Chains the events written before the chains existed, oldest first (once, in the migration that adds them).
    static func chainAuditBacklog(_ db: Database) throws {
        var heads: [String: (seq: Int64, hash: String)] = [:]
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_events WHERE hash IS NULL ORDER BY id"))
        for row in rows {
            let event = try auditEvent(row)
            let chain = AuditChain.chain(of: event)
            let head = heads[chain] ?? (0, AuditChain.genesis)
            let at = try required(row, "at", as: Double.self)
            let hash = AuditChain.hash(previous: head.hash, chain: chain, seq: head.seq + 1, at: at, event: event)
            try db.execute(
                sql: "UPDATE audit_events SET chain = ?, seq = ?, prev_hash = ?, hash = ? WHERE id = ?",
                arguments: [chain, head.seq + 1, head.hash, hash, event.id])
            heads[chain] = (head.seq + 1, hash)
        }
        for (chain, head) in heads {
            try db.execute(sql: "INSERT INTO audit_chain_heads (chain, seq, hash) VALUES (?, ?, ?)", arguments: [chain, head.seq, head.hash])
        }
    }

    public func auditChain(_ chain: String, afterSeq: Int64, limit: Int) async throws -> [ChainedAuditEvent] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_events WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?"), arguments: [chain, afterSeq, limit]
            ).map(Self.chainedEvent)
        }
    }

    public func auditChainNames() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db.cachedStatement(sql: "SELECT DISTINCT chain FROM audit_events WHERE chain IS NOT NULL ORDER BY chain"))
        }
    }

    public func unchainedAuditEvents(limit: Int) async throws -> [ChainedAuditEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM audit_events WHERE chain IS NULL OR seq IS NULL OR prev_hash IS NULL OR hash IS NULL ORDER BY id LIMIT ?
                    """, arguments: [limit]
            ).map(Self.chainedEvent)
        }
    }

    static func chainedEvent(_ row: Row) throws -> ChainedAuditEvent {
        ChainedAuditEvent(
            event: try auditEvent(row), at: try required(row, "at", as: Double.self), chain: try optional(row, "chain"),
            seq: try optional(row, "seq"), previousHash: try optional(row, "prev_hash"), hash: try optional(row, "hash"))
    }

    public func chainedEvents(afterID: Int64, chain: String?, since: Date?, limit: Int) async throws -> [ChainedAuditEvent] {
        var filter = Filter([])
        filter.add("id > ?", afterID)
        if let chain { filter.add("chain = ?", chain) }
        if let since { filter.add("at >= ?", Self.time(since)) }
        filter.limit(limit)
        return try await pool.read { [filter] db in
            let values: [(any DatabaseValueConvertible)?] = filter.arguments.map { $0 }
            return try Row.fetchAll(db, sql: "SELECT * FROM audit_events\(filter.whereSQL) ORDER BY id LIMIT ?", arguments: StatementArguments(values))
                .map(Self.chainedEvent)
        }
    }

    public func auditChainHeads() async throws -> [AuditChainHead] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit_chain_heads ORDER BY chain")).map { row throws in
                AuditChainHead(chain: try Self.required(row, "chain"), seq: try Self.required(row, "seq"), hash: try Self.required(row, "hash"))
            }
        }
    }

    public func events(_ query: AuditQuery) async throws -> [AuditEvent] {
        try await AuditQueryPlan(query).run { conditions in
            var filter = Filter([])
            for condition in conditions {
                switch condition {
                case .equals(let column, let value): filter.add("\(column) = ?", Self.databaseValue(value))
                case .atLeast(let column, let value): filter.add("\(column) >= ?", Self.databaseValue(value))
                case .below(let column, let value): filter.add("\(column) < ?", Self.databaseValue(value))
                case .startsWith(let column, let prefix): filter.add("substr(\(column), 1, \(prefix.count)) = ?", prefix)
                }
            }
            filter.limit(AuditQueryPlan.pageSize)
            return try await pool.read { [filter] db in
                let values: [(any DatabaseValueConvertible)?] = filter.arguments.map { $0 }
                return try Row.fetchAll(
                    db, sql: "SELECT * FROM audit_events\(filter.whereSQL) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(values)
                ).map { row throws in try Self.auditEvent(row) }
            }
        }
    }

    static func databaseValue(_ value: AuditQueryPlan.Value) -> any DatabaseValueConvertible & Sendable {
        switch value {
        case .text(let text): text
        case .real(let number): number
        case .integer(let number): number
        }
    }

    /// An audit event from its row; a value of the wrong type fails the read with `internal_error` naming the column.
    static func auditEvent(_ row: Row) throws(LatchkeyError) -> AuditEvent {
        let owner = try optional(row, "owner", as: String.self)
        let provider = try optional(row, "provider", as: String.self)
        let connection = try optional(row, "connection_id", as: String.self)
        return AuditEvent(
            id: try required(row, "id"), at: try time(row, "at"), actor: AuditActor(rawValue: try required(row, "actor")),
            action: AuditAction(rawValue: try required(row, "action")), owner: owner.flatMap { try? OwnerRef(parsing: $0) },
            provider: provider.map { ProviderID($0) }, connectionID: connection.map { ConnectionID(rawValue: $0) },
            outcome: try required(row, "outcome"), detail: try optional(row, "detail"))
    }
}
