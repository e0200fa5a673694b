import ArgumentParser
import LatchkeyModel

/// `latchkey admin orgs|teams|projects|users create ...`: the owners above agents.
struct OwnersCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an org, team, project or user: KIND:PATH (org:acme, team:acme/growth, project:acme/growth/crm, user:acme/alice).")
    @OptionGroup var options: AdminOptions
    @OptionGroup var output: JSONFlag
    @Argument(help: "The owner reference to create.") var owner: String

    func run() async throws {
        let ref: OwnerRef
        do { ref = try OwnerRef(parsing: owner) } catch {
            Terminal.standardError("latchkey: \(error.message)\n")
            throw ExitCode(1)
        }
        let segments = ref.segments
        let (path, body): (String, [String: JSONValue]) =
            switch ref.kind {
            case .org: ("/v1/admin/orgs", ["id": .string(segments[0])])
            case .team: ("/v1/admin/teams", ["org": .string(segments[0]), "id": .string(segments[1])])
            case .project: ("/v1/admin/projects", ["team": .string(segments[0..<2].joined(separator: "/")), "id": .string(segments[2])])
            case .user: ("/v1/admin/users", ["org": .string(segments[0]), "id": .string(segments[1])])
            case .agent: ("/v1/admin/agents", ["project": .string(segments[0..<3].joined(separator: "/")), "id": .string(segments[3])])
            }
        try await AdminCall.run(options, json: output.json, { try await $0.post(path, body: .object(body)) }) { answer in
            if let key = answer.value(atPath: "api_key")?.stringValue {
                return "created \(ref)\napi key (shown once): \(key)"
            }
            return "created \(ref)"
        }
    }
}

/// `latchkey admin owners create|revoke ...`
struct OwnersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owners", abstract: "Create owners, or revoke everything under one.", subcommands: [OwnersCreateCommand.self, Revoke.self])

    /// `latchkey admin owners revoke REF`: every connection under it (at the provider too) and every agent key below it.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every connection and agent key under an owner (a compromised agent).")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "The owner reference, e.g. agent:acme/growth/crm/scout.") var owner: String

        func run() async throws {
            try await AdminCall.run(options, json: output.json, { try await $0.post("/v1/admin/owners/\(AdminCall.encoded(owner))/revoke") }) {
                AdminCall.fields($0, ["owner", "connections_revoked", "agent_keys_revoked"])
            }
        }
    }
}

/// `latchkey admin agents create|new-key|revoke-keys|grants|grant ...`
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "Agents: create, keys, write-tool grants.",
        subcommands: [Create.self, NewKey.self, RevokeKeys.self, Grants.self, Grant.self])

    /// An agent given as `agent:ORG/TEAM/PROJECT/AGENT` or `ORG/TEAM/PROJECT/AGENT`, as its API path.
    static func path(_ text: String) throws -> String {
        let bare = text.hasPrefix("agent:") ? String(text.dropFirst("agent:".count)) : text
        do { _ = try OwnerRef(kind: .agent, path: bare, field: "agent") } catch {
            Terminal.standardError("latchkey: \(error.message)\n")
            throw ExitCode(1)
        }
        return "/v1/admin/agents/\(bare)"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an agent; its API key is shown once.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "agent:ORG/TEAM/PROJECT/AGENT") var agent: String

        func run() async throws {
            var create = OwnersCreateCommand()
            create.options = options
            create.output = output
            create.owner = agent.hasPrefix("agent:") ? agent : "agent:" + agent
            try await create.run()
        }
    }

    struct NewKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "new-key", abstract: "Add a key for an agent (the old ones keep working).")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "agent:ORG/TEAM/PROJECT/AGENT") var agent: String

        func run() async throws {
            let path = try AgentsCommand.path(agent) + "/keys"
            try await AdminCall.run(options, json: output.json, { try await $0.post(path) }) {
                "api key (shown once): \($0.value(atPath: "api_key")?.stringValue ?? "")"
            }
        }
    }

    struct RevokeKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-keys", abstract: "Revoke every key of an agent.")
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "agent:ORG/TEAM/PROJECT/AGENT") var agent: String

        func run() async throws {
            let path = try AgentsCommand.path(agent) + "/keys"
            try await AdminCall.run(options, json: output.json, { try await $0.send("DELETE", path, body: nil) }) {
                AdminCall.fields($0, ["owner", "revoked"])
            }
        }
    }

    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the write tools an agent may call.", aliases: ["grants"])
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "agent:ORG/TEAM/PROJECT/AGENT") var agent: String

        func run() async throws {
            let path = try AgentsCommand.path(agent) + "/grants"
            try await AdminCall.run(options, json: output.json, { try await $0.get(path) }) { answer in
                let tools = answer.value(atPath: "tools")?.arrayValue?.compactMap(\.stringValue) ?? []
                return tools.isEmpty ? "no write tools granted" : tools.joined(separator: "\n")
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set the write tools an agent may call (replaces the list; give none to withdraw all).", aliases: ["grant"])
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: "agent:ORG/TEAM/PROJECT/AGENT") var agent: String
        @Argument(help: "Tools as provider.tool, e.g. github.create_issue.") var tools: [String] = []

        func run() async throws {
            let path = try AgentsCommand.path(agent) + "/grants"
            let body = JSONValue.object(["tools": .array(tools.map { .string($0) })])
            try await AdminCall.run(options, json: output.json, { try await $0.send("PUT", path, body: body) }) { answer in
                let granted = answer.value(atPath: "tools")?.arrayValue?.compactMap(\.stringValue) ?? []
                return granted.isEmpty ? "no write tools granted" : "granted: " + granted.joined(separator: ", ")
            }
        }
    }
}

/// `latchkey admin orgs|teams|projects|users create PATH`: `owners create KIND:PATH` by kind.
enum OwnerKindCommands {
    /// Creates `kind:path` through `owners create`.
    static func create(_ kind: OwnerRef.Kind, _ path: String, options: AdminOptions, output: JSONFlag) async throws {
        var create = OwnersCreateCommand()
        create.options = options
        create.output = output
        create.owner = path.hasPrefix("\(kind.rawValue):") ? path : "\(kind.rawValue):\(path)"
        try await create.run()
    }

    struct Orgs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "orgs", abstract: "Organizations.", subcommands: [Create.self])
        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an org: ORG.")
            @OptionGroup var options: AdminOptions
            @OptionGroup var output: JSONFlag
            @Argument(help: "ORG") var path: String
            func run() async throws { try await OwnerKindCommands.create(.org, path, options: options, output: output) }
        }
    }

    struct Teams: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "teams", abstract: "Teams.", subcommands: [Create.self])
        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a team: ORG/TEAM.")
            @OptionGroup var options: AdminOptions
            @OptionGroup var output: JSONFlag
            @Argument(help: "ORG/TEAM") var path: String
            func run() async throws { try await OwnerKindCommands.create(.team, path, options: options, output: output) }
        }
    }

    struct Projects: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "projects", abstract: "Projects.", subcommands: [Create.self])
        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a project: ORG/TEAM/PROJECT.")
            @OptionGroup var options: AdminOptions
            @OptionGroup var output: JSONFlag
            @Argument(help: "ORG/TEAM/PROJECT") var path: String
            func run() async throws { try await OwnerKindCommands.create(.project, path, options: options, output: output) }
        }
    }

    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "users", abstract: "Users (people).", subcommands: [Create.self])
        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a user: ORG/USER.")
            @OptionGroup var options: AdminOptions
            @OptionGroup var output: JSONFlag
            @Argument(help: "ORG/USER") var path: String
            func run() async throws { try await OwnerKindCommands.create(.user, path, options: options, output: output) }
        }
    }

    /// `latchkey admin grants show|set AGENT [TOOLS...]`: `agents grants` and `agents grant` under their own name.
    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grants", abstract: "The write tools an agent may call.",
            subcommands: [AgentsCommand.Grants.self, AgentsCommand.Grant.self])
    }
}
