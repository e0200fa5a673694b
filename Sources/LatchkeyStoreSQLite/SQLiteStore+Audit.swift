import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Audit

extension SQLiteStore {
    public func append(_ e: AuditEvent) async throws {
        try await pool.write { db in try Self.insertAudit(db, e) }
    }

    static func insertAudit(_ db: Database, _ e: AuditEvent) throws {
        let values: [(any DatabaseValueConvertible & Sendable)?] = [
            time(e.at), e.actor.rawValue, e.action.rawValue, e.owner?.description, e.owner?.org, e.provider?.rawValue,
            e.connectionID?.rawValue, e.outcome, e.detail,
        ]
        try db.execute(
            sql: """
                INSERT INTO audit_events (at, actor, action, owner, org, provider, connection_id, outcome, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: StatementArguments(values.map { $0 ?? DatabaseValue.null }))
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
