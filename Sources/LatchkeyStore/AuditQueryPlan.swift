import Foundation
import LatchkeyModel

/// How every engine runs an ``AuditQuery``: the conditions its SQL narrows by, and the paging, newest first, that
/// applies the exact owner filter (an owner and everything below it) in Swift, where SQL only narrows to the org.
/// An engine renders each ``Condition`` in its own dialect and fetches one page at a time.
public struct AuditQueryPlan: Sendable {
    /// A value a condition compares with.
    public enum Value: Sendable, Equatable {
        case text(String)
        case real(Double)
        case integer(Int64)
    }

    /// One condition on a column of `audit_events`.
    public enum Condition: Sendable, Equatable {
        case equals(String, Value)
        case atLeast(String, Value)
        case below(String, Value)
        /// The column's text starts with the prefix.
        case startsWith(String, String)
    }

    public let query: AuditQuery
    /// The conditions of every page.
    public let conditions: [Condition]
    /// Rows read per page.
    public static let pageSize = 500

    public init(_ query: AuditQuery) {
        self.query = query
        let equalities: [(String, String?)] = [
            ("org", query.ownerPrefix?.org), ("provider", query.provider?.rawValue), ("connection_id", query.connectionID?.rawValue),
            ("actor", query.actor), ("outcome", query.outcome),
        ]
        var conditions = equalities.compactMap { column, value in value.map { Condition.equals(column, .text($0)) } }
        if let since = query.since { conditions.append(.atLeast("at", .real(since.timeIntervalSince1970))) }
        if let until = query.until { conditions.append(.below("at", .real(until.timeIntervalSince1970))) }
        if let action = query.action {
            // A dotted prefix (`connection.`) selects every action under it.
            conditions.append(action.hasSuffix(".") ? .startsWith("action", action) : .equals("action", .text(action)))
        }
        self.conditions = conditions
    }

    /// Reads pages through `fetch` (the rows matching the conditions given, newest first, at most ``pageSize``) until
    /// the query's limit of events pass the owner filter or the rows run out.
    public func run(fetch: ([Condition]) async throws -> [AuditEvent]) async throws -> [AuditEvent] {
        let limit = max(0, query.limit)
        var events: [AuditEvent] = []
        var before = query.beforeID
        while events.count < limit {
            let batch = try await fetch(conditions + (before.map { [.below("id", .integer($0))] } ?? []))
            for event in batch where events.count < limit {
                if let prefix = query.ownerPrefix {
                    guard let owner = event.owner, prefix.encloses(owner) else { continue }
                }
                events.append(event)
            }
            guard batch.count == Self.pageSize, let last = batch.last?.id else { break }
            before = last
        }
        return events
    }
}
