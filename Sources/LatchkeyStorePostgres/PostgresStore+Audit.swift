import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Audit

extension PostgresStore {
    public func append(_ e: AuditEvent) async throws {
        try await execute(
            """
            INSERT INTO audit_events (at, actor, action, owner, org, provider, connection_id, outcome, detail)
            VALUES (\(Self.time(e.at)), \(e.actor), \(e.action), \(e.owner?.description), \(e.owner?.org), \(e.provider?.rawValue),
                \(e.connectionID?.rawValue), \(e.outcome), \(e.detail))
            """)
    }

    public func events(_ query: AuditQuery) async throws -> [AuditEvent] {
        var filter = PostgresFilter([
            ("org", query.ownerPrefix?.org), ("provider", query.provider?.rawValue), ("connection_id", query.connectionID?.rawValue),
            ("actor", query.actor), ("outcome", query.outcome),
        ])
        if let since = query.since { filter.add("at >= $?", Self.time(since)) }
        if let until = query.until { filter.add("at < $?", Self.time(until)) }
        if let action = query.action {
            if action.hasSuffix(".") {
                filter.add("starts_with(action, $?)", action)
            } else {
                filter.add("action = $?", action)
            }
        }
        let limit = max(0, query.limit)
        // The owner filter is exact in Swift (`encloses`); SQL narrows to the org. Page until enough match.
        let pageSize = 500
        var events: [AuditEvent] = []
        var before = query.beforeID
        while events.count < limit {
            var page = filter
            if let before { page.add("id < $?", before) }
            var binds = page.binds
            binds.append(pageSize)
            let batch = try await execute(
                PostgresQuery(unsafeSQL: "SELECT * FROM audit_events\(page.whereSQL) ORDER BY id DESC LIMIT $\(binds.count)", binds: binds)
            ).map(Self.auditEvent)
            for event in batch where events.count < limit {
                if let prefix = query.ownerPrefix {
                    guard let owner = event.owner, prefix.encloses(owner) else { continue }
                }
                events.append(event)
            }
            guard batch.count == pageSize, let last = batch.last?.id else { break }
            before = last
        }
        return events
    }

    static func auditEvent(_ row: PostgresRandomAccessRow) throws -> AuditEvent {
        AuditEvent(
            id: try row.value("id", as: Int64.self), at: Date(timeIntervalSince1970: try row.value("at")), actor: try row.value("actor"),
            action: try row.value("action"), owner: try row.value("owner", as: String?.self).flatMap { try? OwnerRef(parsing: $0) },
            provider: try row.value("provider", as: String?.self).map { ProviderID($0) },
            connectionID: try row.value("connection_id", as: String?.self).map { ConnectionID(rawValue: $0) }, outcome: try row.value("outcome"),
            detail: try row.value("detail"))
    }
}
