import Foundation
import Hummingbird
import LatchkeyModel
import LatchkeyStore

/// `GET /v1/admin/audit`'s query string: `owner`, `since`, `until`, `action`, `provider`, `connection`, `actor`,
/// `outcome`, `before` and `limit` (1 to 1000, default 200). Times are ISO 8601 or Unix seconds.
enum AuditQueryParameters {
    static func read(_ request: Request) throws(LatchkeyError) -> AuditQuery {
        var query = AuditQuery()
        query.ownerPrefix = try request.queryValue("owner").map { raw throws(LatchkeyError) in try OwnerRef(parsing: raw, field: "owner") }
        query.since = try time(request.queryValue("since"), field: "since")
        query.until = try time(request.queryValue("until"), field: "until")
        query.action = try token(request.queryValue("action"), field: "action")
        query.provider = try token(request.queryValue("provider"), field: "provider").map { ProviderID($0) }
        query.connectionID = try token(request.queryValue("connection"), field: "connection").map { ConnectionID(rawValue: $0) }
        query.actor = try token(request.queryValue("actor"), field: "actor")
        if let outcome = request.queryValue("outcome") {
            guard outcome == "success" || outcome == "failure" else {
                throw LatchkeyError(.invalidRequest, "outcome: expected success or failure", field: "outcome")
            }
            query.outcome = outcome
        }
        if let raw = request.queryValue("before") {
            guard let id = Int64(raw), id > 0 else {
                throw LatchkeyError(.invalidRequest, "before: expected an event id (a positive integer)", field: "before")
            }
            query.beforeID = id
        }
        if let raw = request.queryValue("limit") {
            guard let n = Int(raw), (1...1000).contains(n) else {
                throw LatchkeyError(.invalidRequest, "limit: expected an integer from 1 to 1000", field: "limit")
            }
            query.limit = n
        }
        return query
    }

    /// An ISO 8601 time (`2026-01-31T12:00:00Z`) or Unix seconds.
    static func time(_ raw: String?, field: String) throws(LatchkeyError) -> Date? {
        guard let raw else { return nil }
        if let seconds = Double(raw), seconds.isFinite, seconds >= 0 { return Date(timeIntervalSince1970: seconds) }
        if let date = ISO8601DateFormatter().date(from: raw) { return date }
        throw LatchkeyError(.invalidRequest, "\(field): expected an ISO 8601 time such as 2026-01-31T12:00:00Z, or Unix seconds", field: field)
    }

    /// A filter value: printable, without spaces, at most 200 characters.
    static func token(_ raw: String?, field: String) throws(LatchkeyError) -> String? {
        guard let raw else { return nil }
        guard !raw.isEmpty, raw.count <= 200, raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw LatchkeyError(.invalidRequest, "\(field): expected a printable value without spaces, at most 200 characters", field: field)
        }
        return raw
    }
}
