import ArgumentParser
import Foundation
import LatchkeyModel

/// `latchkey admin audit [filters] [--json]`: the audit log, newest first.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit log, newest first, with filters.")
    @OptionGroup var options: AdminOptions
    @Option(help: "Events of this owner and the owners below it, e.g. org:acme or agent:acme/growth/crm/scout.") var owner: String?
    @Option(help: "At or after this time: ISO 8601 (2026-01-31T12:00:00Z), Unix seconds, or an age such as 15m, 2h, 7d.") var since: String?
    @Option(help: "Before this time (same forms as --since).") var until: String?
    @Option(help: "An action (connection.refreshed) or a prefix ending in a dot (connection.).") var action: String?
    @Option(help: "A provider id.") var provider: String?
    @Option(help: "A connection id.") var connection: String?
    @Option(help: "admin, system, browser or an agent reference.") var actor: String?
    @Option(help: "success or failure.") var outcome: String?
    @Option(help: "At most this many events, 1 to 1000.") var limit = 50
    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() async throws {
        var query: [(String, String)] = [("limit", String(limit))]
        if let owner { query.append(("owner", owner)) }
        if let since { query.append(("since", try Self.time(since, option: "--since"))) }
        if let until { query.append(("until", try Self.time(until, option: "--until"))) }
        for (name, value) in [("action", action), ("provider", provider), ("connection", connection), ("actor", actor), ("outcome", outcome)] {
            if let value { query.append((name, value)) }
        }
        let path = "/v1/admin/audit?" + query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        try await AdminCommand.withClient(options) { client in
            let answer = try await client.get(path)
            if json { return print(String(decoding: answer.body, as: UTF8.self)) }
            var table = TextTable(["TIME", "ACTOR", "ACTION", "OWNER", "PROVIDER", "CONNECTION", "OUTCOME", "DETAIL"])
            for event in answer.json.value(atPath: "events")?.arrayValue ?? [] {
                let field = { (name: String) in event.value(atPath: name)?.stringValue ?? "" }
                table.add([
                    field("at"), field("actor"), field("action"), field("owner"), field("provider"), field("connection"), field("outcome"),
                    field("detail"),
                ])
            }
            print(table.render(empty: "no events match"))
        }
    }

    /// `15m`, `2h`, `7d` (ago) become Unix seconds; anything else goes to the server as it is, which checks it.
    static func time(_ text: String, option: String, now: Date = Date()) throws -> String {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last, let scale = units[unit], let n = Double(text.dropLast()), n >= 0 {
            return String(Int(now.timeIntervalSince1970 - n * scale))
        }
        return text
    }

    static func percentEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
