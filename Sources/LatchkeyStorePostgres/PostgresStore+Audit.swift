import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Audit

extension PostgresStore {
    public func append(_ e: AuditEvent) async throws { try await execute(Self.auditInsert(e)) }

    /// The statement that appends `e` (also inside a refresh's transaction).
    static func auditInsert(_ e: AuditEvent) -> PostgresQuery {
        """
        INSERT INTO audit_events (at, actor, action, owner, org, provider, connection_id, outcome, detail)
        VALUES (\(Self.time(e.at)), \(e.actor.rawValue), \(e.action.rawValue), \(e.owner?.description), \(e.owner?.org),
            \(e.provider?.rawValue), \(e.connectionID?.rawValue), \(e.outcome), \(e.detail))
        """
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
