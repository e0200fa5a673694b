import Foundation
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore

/// Turns model values into the plain dictionaries the templates read. No secret ever goes in.
enum DashboardViews {
    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        let f = ISO8601DateFormatter()
        return f.string(from: date)
    }

    /// `[{state, count}]` in the lifecycle's order, for states that have connections.
    static func counts(_ connections: [Connection]) -> [[String: Any]] {
        ConnectionState.allCases.compactMap { state -> [String: Any]? in
            let n = connections.filter { $0.state == state }.count
            return n == 0 ? nil : ["state": state.rawValue, "count": n]
        }
    }

    /// "OAuth app at 2 owners", "no OAuth app registered", or "no app needed".
    static func setup(_ manifest: ProviderManifest, apps: [AppRegistration]) -> String {
        guard manifest.auth.takesApps else { return "no app needed (\(manifest.auth.mode))" }
        switch apps.count {
        case 0 where manifest.kind == .mcp: return "remote MCP server: client registered at connect time"
        case 0: return "no OAuth app registered"
        case 1: return "OAuth app registered at \(apps[0].owner)"
        default: return "OAuth app registered at \(apps.count) owners"
        }
    }

    static func event(_ e: AuditEvent) -> [String: Any] {
        [
            "at": time(e.at), "actor": e.actor.rawValue, "action": e.action.rawValue, "owner": e.owner?.description ?? "",
            "provider": e.provider?.rawValue ?? "", "connection": e.connectionID?.rawValue ?? "", "outcome": e.outcome,
            "detail": e.detail ?? "",
        ]
    }

    static func tool(_ t: ToolSpec) -> [String: Any] {
        tool(name: t.name, access: t.access.rawValue, description: t.description, input: t.input)
    }

    /// A remote MCP server's tool, as its server lists it.
    static func tool(_ t: ToolRunner.ToolView) -> [String: Any] {
        tool(name: t.tool, access: t.access, description: t.description, input: t.input)
    }

    static func tool(name: String, access: String, description: String, input: JSONValue) -> [String: Any] {
        var fields: [[String: Any]] = []
        if case .object(let schema) = input, case .object(let properties)? = schema["properties"] {
            var required: Set<String> = []
            if case .array(let names)? = schema["required"] {
                for case .string(let name) in names { required.insert(name) }
            }
            for name in properties.keys.sorted() {
                var type = ""
                if case .object(let p)? = properties[name], case .string(let t)? = p["type"] { type = t }
                fields.append(["name": name, "type": type, "required": required.contains(name)])
            }
        }
        return ["name": name, "access": access, "description": description, "fields": fields]
    }

    static func connection(_ c: Connection, oauth: Bool) -> [String: Any] {
        [
            "id": c.id.rawValue, "provider": c.provider.rawValue, "state": c.state.rawValue, "account": c.account?.name ?? c.account?.id ?? "",
            "owner": c.owner.description, "last_error": c.lastError ?? "",
            "can_revoke": c.state != .revoked, "can_refresh": oauth && (c.state == .active || c.state == .error),
        ]
    }
}
