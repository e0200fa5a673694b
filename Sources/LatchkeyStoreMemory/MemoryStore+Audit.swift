import Foundation
import LatchkeyModel
import LatchkeyStore

/// The append-only audit log: events in order of appending, each given the next id.
struct AuditLog: Sendable {
    private(set) var events: [AuditEvent] = []

    /// Appends `event` under a new id (any id it carries is ignored, as the engines' identity column does).
    mutating func append(_ event: AuditEvent) {
        var stored = event
        stored.id = (events.last?.id ?? 0) + 1
        events.append(stored)
    }

    /// The events matching `query`, newest first, at most `query.limit`.
    func matching(_ query: AuditQuery) -> [AuditEvent] {
        Array(events.reversed().lazy.filter { Self.matches($0, query) }.prefix(max(0, query.limit)))
    }

    private static func matches(_ e: AuditEvent, _ q: AuditQuery) -> Bool {
        if let prefix = q.ownerPrefix, !(e.owner.map(prefix.encloses) ?? false) { return false }
        if let since = q.since, e.at < since { return false }
        if let until = q.until, e.at >= until { return false }
        if let action = q.action {
            // An action ending with a dot is every action under it; anything else is exact.
            let matched = action.hasSuffix(".") ? e.action.rawValue.utf8.starts(with: action.utf8) : e.action.rawValue == action
            if !matched { return false }
        }
        if let beforeID = q.beforeID, let id = e.id, id >= beforeID { return false }
        return (q.provider.map { $0 == e.provider } ?? true) && (q.connectionID.map { $0 == e.connectionID } ?? true)
            && (q.actor.map { $0 == e.actor.rawValue } ?? true) && (q.outcome.map { $0 == e.outcome } ?? true)
    }
}

extension MemoryStore: AuditStore {
    public func append(_ event: AuditEvent) async throws {
        locked { $0.audit.append(event) }
    }

    public func events(_ query: AuditQuery) async throws -> [AuditEvent] {
        locked { $0.audit.matching(query) }
    }
}
