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
                ).map(Self.auditEvent)
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

    static func auditEvent(_ row: Row) -> AuditEvent {
        let owner: String? = row["owner"]
        let provider: String? = row["provider"]
        let connection: String? = row["connection_id"]
        let at: Double = row["at"]
        return AuditEvent(
            id: row["id"], at: Date(timeIntervalSince1970: at), actor: AuditActor(rawValue: row["actor"]), action: AuditAction(rawValue: row["action"]),
            owner: owner.flatMap { try? OwnerRef(parsing: $0) }, provider: provider.map { ProviderID($0) },
            connectionID: connection.map { ConnectionID(rawValue: $0) }, outcome: row["outcome"], detail: row["detail"])
    }
}
