import ArgumentParser
import Foundation
import LatchkeyModel

/// `latchkey admin connections list|create|refresh|revoke`
struct ConnectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections", abstract: "Connections: list, create (API key), refresh, revoke.",
        subcommands: [List.self, Create.self, Refresh.self, Revoke.self])

    static func row(_ c: JSONValue) -> [String] {
        let field = { (name: String) in c.value(atPath: name)?.scalarText ?? "" }
        return [field("id"), field("provider"), field("owner"), field("state"), field("account"), field("expires_at"), field("last_error")]
    }

    static func text(_ c: JSONValue) -> String {
        AdminCall.fields(c, ["id", "provider", "owner", "state", "account", "scopes", "expires_at", "last_refreshed_at", "last_error"])
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List connections, with filters.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Option(help: "That owner and the owners below it.") var owner: String?
        @Option(help: "A provider id.") var provider: String?
        @Option(help: "installed, active, needs_reauth, revoked or error.") var state: String?

        func run() async throws {
            let query = [("owner", owner), ("provider", provider), ("state", state)].compactMap { name, value in
                value.map { "\(name)=\(AdminCall.encoded($0))" }
            }
            let path = "/v1/admin/connections" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            try await AdminCall.run(options, json: output.json, { try await $0.get(path) }) { answer in
                var table = TextTable(["ID", "PROVIDER", "OWNER", "STATE", "ACCOUNT", "EXPIRES", "LAST ERROR"])
                for c in answer.value(atPath: "connections")?.arrayValue ?? [] { table.add(ConnectionsCommand.row(c)) }
                return table.render(empty: "no connections match")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store an API key as a connection (api_key providers); the key is read from the environment or stdin, never an argument.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Option(help: "The provider id.") var provider: String
        @Option(help: "The owner, e.g. org:acme.") var owner: String
        @Option(name: .customLong("api-key-env"), help: "The environment variable holding the key (default: read one line from stdin).")
        var apiKeyEnv: String?

        func run() async throws {
            let key = try AdminCall.secret(from: apiKeyEnv, "API key", option: "--api-key-env")
            let body = JSONValue.object(["provider": .string(provider), "owner": .string(owner), "api_key": .string(key)])
            try await AdminCall.run(options, json: output.json, { try await $0.post("/v1/admin/connections", body: body) }) {
                ConnectionsCommand.text($0)
            }
        }
    }

    /// `connections refresh ID` and `connections revoke ID`: a POST to the connection's action, which answers the connection.
    static func action(_ verb: String, _ abstract: String) -> OneCall {
        OneCall(
            name: verb, abstract: abstract, argument: "id", help: "The connection id.", method: .post,
            path: { "/v1/admin/connections/\(AdminCall.encoded($0))/\(verb)" }, text: { ConnectionsCommand.text($0) })
    }

    enum RefreshRow: OneCallRow { static let call = ConnectionsCommand.action("refresh", "Refresh a connection's token now.") }
    enum RevokeRow: OneCallRow {
        static let call = ConnectionsCommand.action("revoke", "Revoke a connection at the provider and destroy its credential.")
    }
    typealias Refresh = OneCallCommand<RefreshRow>
    typealias Revoke = OneCallCommand<RevokeRow>
}

/// `latchkey admin apps put PROVIDER ...`: registers or rotates an OAuth app; the secret never goes on the command line.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apps", abstract: "OAuth apps: register or rotate.", subcommands: [Put.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register or rotate an OAuth app at an owner; the client secret is read from the environment or stdin.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The provider id.") var provider: String
        @Option(help: "The owner, e.g. org:acme.") var owner: String
        @Option(name: .customLong("client-id"), help: "The app's client id.") var clientID: String
        @Option(name: .customLong("client-secret-env"), help: "The environment variable holding the client secret (default: one line from stdin).")
        var clientSecretEnv: String?
        @Option(help: "Default scopes, comma-separated.") var scopes: String?

        func run() async throws {
            let secret = try AdminCall.secret(from: clientSecretEnv, "client secret", option: "--client-secret-env")
            var body: [String: JSONValue] = ["owner": .string(owner), "client_id": .string(clientID), "client_secret": .string(secret)]
            if let scopes { body["scopes"] = .array(scopes.split(separator: ",").map { .string(String($0)) }) }
            try await AdminCall.run(options, json: output.json, { try await $0.send("PUT", "/v1/admin/apps/\(AdminCall.encoded(provider))", body: .object(body)) }) {
                AdminCall.fields($0, ["provider", "owner", "scopes", "redirect_uri"])
            }
        }
    }
}

/// `latchkey admin credits add|show ORG`
struct CreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "credits", abstract: "An org's credit pool.", subcommands: [Add.self, Show.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add credits to an org's pool.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The org id.") var org: String
        @Argument(help: "How many credits.") var amount: Int

        func run() async throws {
            let body = JSONValue.object(["add": .number(Double(amount))])
            try await AdminCall.run(options, json: output.json, { try await $0.post("/v1/admin/orgs/\(AdminCall.encoded(org))/credits", body: body) }) {
                AdminCall.fields($0, ["org", "balance"])
            }
        }
    }

    enum ShowRow: OneCallRow {
        static let call = OneCall(
            name: "show", abstract: "Show an org's balance and its usage per provider, agent and credentials (managed or own).",
            argument: "org", help: "The org id.",
            method: .get, path: { "/v1/admin/orgs/\(AdminCall.encoded($0))/credits" }
        ) { answer in
            var table = TextTable(["PROVIDER", "AGENT", "CREDENTIALS", "CALLS", "CREDITS"])
            for u in answer.value(atPath: "usage")?.arrayValue ?? [] {
                table.add(["provider", "agent", "credentials", "calls", "credits"].map { u.value(atPath: $0)?.scalarText ?? "" })
            }
            return AdminCall.fields(answer, ["org", "balance"]) + "\n" + table.render(empty: "no usage yet")
        }
    }
    typealias Show = OneCallCommand<ShowRow>
}
