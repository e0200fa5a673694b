import Foundation
import LatchkeyModel

/// Reads grants as the API takes them, with an error naming the field for every bad input:
///
/// ```json
/// {"provider": "github", "tools": ["list_issues", "create_issue"]}
/// {"provider": "github", "methods": ["GET"], "paths": ["/repos/acme/*", "/user"],
///  "connection": "conn_…", "ttl": "2h", "approval": "each_call"}
/// ```
///
/// A grant has `tools` or `methods` with `paths`, never both. `expires_at` (ISO 8601) or `ttl` (`30s`, `15m`, `2h`,
/// `7d`; at most a year) bounds it; an instant already past is refused. `provider` and each tool must exist, as
/// `knows` says.
public struct GrantReader: Sendable {
    /// The methods a proxy rule may name.
    public static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    /// The longest a grant may last: a year.
    public static let longestTTL: TimeInterval = 366 * 24 * 3600

    /// Whether a provider exists, and (with a tool name) whether it has that tool.
    public typealias Catalog = @Sendable (_ provider: ProviderID, _ tool: String?) -> Bool

    let knows: Catalog
    let now: Date

    public init(now: Date, knows: @escaping Catalog) {
        self.now = now
        self.knows = knows
    }

    /// The grants in `value`, an array; `field` is its name in errors (`grants`).
    public func grants(_ value: JSONValue?, field: String = "grants") throws(LatchkeyError) -> [Grant] {
        guard case .array(let items)? = value else { throw LatchkeyError(.invalidRequest, "\(field): must be an array of grants", field: field) }
        guard items.count <= 100 else { throw LatchkeyError(.invalidRequest, "\(field): at most 100 grants", field: field) }
        var grants: [Grant] = []
        for (index, item) in items.enumerated() { grants.append(try grant(item, field: "\(field)[\(index)]")) }
        return grants
    }

    /// One grant; `field` is its name in errors (`grants[2]`).
    public func grant(_ value: JSONValue, field: String) throws(LatchkeyError) -> Grant {
        guard case .object(let object) = value else { throw LatchkeyError(.invalidRequest, "\(field): must be an object", field: field) }
        let known: Set<String> = ["provider", "tools", "methods", "paths", "connection", "expires_at", "ttl", "approval"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw LatchkeyError(.invalidRequest, "\(field).\(unknown): not a field of a grant", field: "\(field).\(unknown)")
        }
        let provider = ProviderID(try string(object["provider"], "\(field).provider"))
        guard knows(provider, nil) else {
            throw LatchkeyError(.notFound, "\(field).provider: no provider '\(provider.rawValue.prefix(64))'", field: "\(field).provider")
        }
        let capability: Capability
        switch (object["tools"], object["methods"] ?? object["paths"]) {
        case (let tools?, nil):
            let names = try strings(tools, "\(field).tools")
            for (index, name) in names.enumerated() where !knows(provider, name) {
                throw LatchkeyError(
                    .notFound, "\(field).tools[\(index)]: \(provider) has no tool '\(name.prefix(64))'", field: "\(field).tools[\(index)]")
            }
            capability = .tools(provider: provider, names: Set(names))
        case (nil, .some):
            let methods = try strings(object["methods"], "\(field).methods").map { $0.uppercased() }
            for (index, method) in methods.enumerated() where !Self.methods.contains(method) {
                throw LatchkeyError(
                    .invalidRequest, "\(field).methods[\(index)]: '\(method.prefix(16))' is not one of \(Self.methods.sorted().joined(separator: ", "))",
                    field: "\(field).methods[\(index)]")
            }
            var paths: [PathPattern] = []
            for (index, raw) in try strings(object["paths"], "\(field).paths").enumerated() {
                paths.append(try PathPattern(parsing: raw, field: "\(field).paths[\(index)]"))
            }
            capability = .proxy(provider: provider, methods: Set(methods), paths: paths)
        default:
            throw LatchkeyError(.invalidRequest, "\(field): give either tools, or methods and paths", field: field)
        }
        return Grant(
            capability: capability, connection: try connection(object["connection"], "\(field).connection"),
            expiresAt: try expiry(object, field), approval: try approval(object["approval"], "\(field).approval"))
    }

    func string(_ value: JSONValue?, _ field: String) throws(LatchkeyError) -> String {
        guard case .string(let s)? = value, !s.isEmpty, s.utf8.count <= 512 else {
            throw LatchkeyError(.invalidRequest, "\(field): required, a non-empty string", field: field)
        }
        return s
    }

    /// A non-empty array of strings, at most 100.
    func strings(_ value: JSONValue?, _ field: String) throws(LatchkeyError) -> [String] {
        guard case .array(let items)? = value, !items.isEmpty, items.count <= 100 else {
            throw LatchkeyError(.invalidRequest, "\(field): required, an array of 1 to 100 strings", field: field)
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() { strings.append(try string(item, "\(field)[\(index)]")) }
        return strings
    }

    func connection(_ value: JSONValue?, _ field: String) throws(LatchkeyError) -> ConnectionID? {
        guard let value, value != .null else { return nil }
        return ConnectionID(rawValue: try string(value, field))
    }

    func approval(_ value: JSONValue?, _ field: String) throws(LatchkeyError) -> Grant.Approval {
        guard let value, value != .null else { return .none }
        guard let approval = Grant.Approval(rawValue: try string(value, field)) else {
            throw LatchkeyError(.invalidRequest, "\(field): 'none' or 'each_call'", field: field)
        }
        return approval
    }

    func expiry(_ object: [String: JSONValue], _ field: String) throws(LatchkeyError) -> Date? {
        switch (object["expires_at"], object["ttl"]) {
        case (nil, nil), (.null?, nil), (nil, .null?): return nil
        case (let at?, nil):
            let raw = try string(at, "\(field).expires_at")
            guard let date = ISO8601DateFormatter().date(from: raw) else {
                throw LatchkeyError(.invalidRequest, "\(field).expires_at: '\(raw.prefix(40))' is not an ISO 8601 time", field: "\(field).expires_at")
            }
            guard date > now else { throw LatchkeyError(.invalidRequest, "\(field).expires_at: already past", field: "\(field).expires_at") }
            guard date.timeIntervalSince(now) <= Self.longestTTL else {
                throw LatchkeyError(.invalidRequest, "\(field).expires_at: more than a year away", field: "\(field).expires_at")
            }
            return date
        case (nil, let ttl?):
            return now.addingTimeInterval(try Self.duration(try string(ttl, "\(field).ttl"), field: "\(field).ttl", longest: Self.longestTTL))
        default:
            throw LatchkeyError(.invalidRequest, "\(field): give expires_at or ttl, not both", field: field)
        }
    }

    /// A duration such as `30s`, `15m`, `2h` or `7d`: a whole positive number and one unit, at most `longest`.
    public static func duration(_ raw: String, field: String, longest: TimeInterval) throws(LatchkeyError) -> TimeInterval {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = raw.last.flatMap({ units[$0] }), let count = Int(raw.dropLast()), count > 0,
            Double(count) * unit <= longest
        else {
            throw LatchkeyError(
                .invalidRequest, "\(field): '\(raw.prefix(20))' is not a duration like 30s, 15m, 2h or 7d up to \(Int(longest / 86400)) days",
                field: field)
        }
        return Double(count) * unit
    }
}
