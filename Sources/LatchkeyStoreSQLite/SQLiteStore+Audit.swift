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
            time(e.at), e.actor, e.action, e.owner?.description, e.owner?.org, e.provider?.rawValue,
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
        var filter = Filter([
            ("org", query.ownerPrefix?.org), ("provider", query.provider?.rawValue), ("connection_id", query.connectionID?.rawValue),
            ("actor", query.actor), ("outcome", query.outcome),
        ])
        if let since = query.since { filter.add("at >= ?", Self.time(since)) }
        if let until = query.until { filter.add("at < ?", Self.time(until)) }
        if let action = query.action {
            if action.hasSuffix(".") {
                filter.add("substr(action, 1, \(action.count)) = ?", action)
            } else {
                filter.add("action = ?", action)
            }
        }
        let limit = max(0, query.limit)
        // The owner filter is exact in Swift (`encloses`); SQL narrows to the org. Page until enough match.
        var events: [AuditEvent] = []
        var before = query.beforeID
        while events.count < limit {
            var page = filter
            if let before { page.add("id < ?", before) }
            page.limit(500)
            let batch = try await pool.read { [page] db in
                let values: [(any DatabaseValueConvertible)?] = page.arguments.map { $0 }
                return try Row.fetchAll(
                    db, sql: "SELECT * FROM audit_events\(page.whereSQL) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(values)
                ).map(Self.auditEvent)
            }
            for event in batch where events.count < limit {
                if let prefix = query.ownerPrefix {
                    guard let owner = event.owner, prefix.encloses(owner) else { continue }
                }
                events.append(event)
            }
            guard batch.count == 500, let last = batch.last?.id else { break }
            before = last
        }
        return events
    }

    static func auditEvent(_ row: Row) -> AuditEvent {
        let owner: String? = row["owner"]
        let provider: String? = row["provider"]
        let connection: String? = row["connection_id"]
        let at: Double = row["at"]
        return AuditEvent(
            id: row["id"], at: Date(timeIntervalSince1970: at), actor: row["actor"], action: row["action"],
            owner: owner.flatMap { try? OwnerRef(parsing: $0) }, provider: provider.map { ProviderID($0) },
            connectionID: connection.map { ConnectionID(rawValue: $0) }, outcome: row["outcome"], detail: row["detail"])
    }
}
