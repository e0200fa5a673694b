import ArgumentParser
import Foundation
import LatchkeyModel

/// `latchkey admin audit [list] [filters] [--json]`, `audit verify [--org]` and `audit export`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit log, check its hash chains, or export it.",
        subcommands: [AuditListCommand.self, AuditVerifyCommand.self, AuditExportCommand.self], defaultSubcommand: AuditListCommand.self)
}

/// `latchkey admin audit [list] [filters] [--json]`: the audit log, newest first.
struct AuditListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show the audit log, newest first, with filters (the default).")
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

/// `latchkey admin audit verify [--org ORG] [--json]`: walks the hash chains; exit 1 when one is broken.
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the audit log's hash chains and name the first event edited, removed or reordered (exit 1 then).")
    @OptionGroup var options: AdminOptions
    @Option(help: "Only this org's chain (an org name such as acme).") var org: String?
    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() async throws {
        var broken = false
        let path = "/v1/admin/audit/verify" + (org.map { "?org=" + AuditListCommand.percentEncoded($0) } ?? "")
        try await AdminCommand.withClient(options) { client in
            let answer = try await client.get(path)
            broken = answer.json.value(atPath: "ok") != .bool(true)
            if json { return print(String(decoding: answer.body, as: UTF8.self)) }
            var table = TextTable(["ORG", "EVENTS", "HEAD", "CHAIN"])
            var problems: [String] = []
            for chain in answer.json.value(atPath: "chains")?.arrayValue ?? [] {
                let org = chain.value(atPath: "org")?.stringValue ?? ""
                let name = org.isEmpty ? "(no org)" : org
                let problem = chain.value(atPath: "broken.message")?.stringValue
                table.add([
                    name, chain.value(atPath: "events")?.scalarText ?? "0", chain.value(atPath: "head_seq")?.scalarText ?? "-",
                    problem == nil ? "ok" : "BROKEN (\(chain.value(atPath: "broken.problem")?.stringValue ?? ""))",
                ])
                if let problem { problems.append("\(name): \(problem)") }
            }
            print(table.render(empty: "no events yet"))
            for problem in problems { print(problem) }
        }
        if broken { throw ExitCode(1) }
    }
}

/// `latchkey admin audit export [--since T] [--org ORG]`: JSON lines with the hashes, oldest first, for a SIEM.
struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Print the audit log as JSON lines with each event's place in its hash chain, oldest first.")
    @OptionGroup var options: AdminOptions
    @Option(help: "At or after this time: ISO 8601, Unix seconds, or an age such as 15m, 2h, 7d.") var since: String?
    @Option(help: "Only this org's chain.") var org: String?
    @Option(help: "Only events with ids above this one (to continue an earlier export).") var afterID: Int64?
    /// Events per call to the server.
    static let page = 5000

    func run() async throws {
        var query: [(String, String)] = [("limit", String(Self.page))]
        if let since { query.append(("since", try AuditListCommand.time(since, option: "--since"))) }
        if let org { query.append(("org", org)) }
        var after = afterID ?? 0
        try await AdminCommand.withClient(options) { client in
            // Page by page, each continuing after the last id printed, so a long log never sits in memory.
            while true {
                let path = "/v1/admin/audit/export?" + (query + [("after_id", String(after))])
                    .map { "\($0.0)=\(AuditListCommand.percentEncoded($0.1))" }.joined(separator: "&")
                let answer = try await client.getLines(path)
                FileHandle.standardOutput.write(Data(answer.body))
                let lines = answer.body.split(separator: UInt8(ascii: "\n"))
                guard lines.count == Self.page, let last = lines.last.flatMap({ JSONValue.parse($0)?.value(atPath: "id")?.numberValue })
                else { break }
                after = Int64(last)
            }
        }
    }
}
