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
        guard !ref.isPlatform else {
            Terminal.standardError("latchkey: the platform exists from the start; it owns managed apps and API keys\n")
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
            case .platform: ("/v1/admin/orgs", [:])  // refused above
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
    enum RevokeRow: OneCallRow {
        static let call = OneCall(
            name: "revoke", abstract: "Revoke every connection and agent key under an owner (a compromised agent).", argument: "owner",
            help: "The owner reference, e.g. agent:acme/growth/crm/scout.", method: .post,
            path: { "/v1/admin/owners/\(AdminCall.encoded($0))/revoke" }
        ) { AdminCall.fields($0, ["owner", "connections_revoked", "agent_keys_revoked"]) }
    }
    typealias Revoke = OneCallCommand<RevokeRow>
}

/// `latchkey admin agents create|new-key|revoke-keys|grants|grant ...`
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: OwnerKindCommands.words(.agent).group, abstract: OwnerKindCommands.words(.agent).about,
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

    typealias Create = OwnerKindCommands.Create<OwnerKindCommands.Agent>

    /// An agent's write-tool grants as text.
    static func grantsText(_ answer: JSONValue, prefix: String, separator: String) -> String {
        let tools = answer.value(atPath: "tools")?.arrayValue?.compactMap(\.stringValue) ?? []
        return tools.isEmpty ? "no write tools granted" : prefix + tools.joined(separator: separator)
    }

    /// A call on one agent: `agents new-key|revoke-keys|show AGENT`.
    static func agentCall(
        _ name: String, _ abstract: String, aliases: [String] = [], _ method: OneCall.Method, _ suffix: String,
        text: @escaping @Sendable (JSONValue) -> String
    ) -> OneCall {
        OneCall(
            name: name, abstract: abstract, aliases: aliases, argument: "agent", help: "agent:ORG/TEAM/PROJECT/AGENT", method: method,
            path: { try AgentsCommand.path($0) + suffix }, text: text)
    }

    enum NewKeyRow: OneCallRow {
        static let call = AgentsCommand.agentCall("new-key", "Add a key for an agent (the old ones keep working).", .post, "/keys") {
            "api key (shown once): \($0.value(atPath: "api_key")?.stringValue ?? "")"
        }
    }
    enum RevokeKeysRow: OneCallRow {
        static let call = AgentsCommand.agentCall("revoke-keys", "Revoke every key of an agent.", .delete, "/keys") {
            AdminCall.fields($0, ["owner", "revoked"])
        }
    }
    enum GrantsRow: OneCallRow {
        static let call = AgentsCommand.agentCall("show", "Show the write tools an agent may call.", aliases: ["grants"], .get, "/grants") {
            AgentsCommand.grantsText($0, prefix: "", separator: "\n")
        }
    }
    typealias NewKey = OneCallCommand<NewKeyRow>
    typealias RevokeKeys = OneCallCommand<RevokeKeysRow>
    typealias Grants = OneCallCommand<GrantsRow>

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
            try await AdminCall.run(options, json: output.json, { try await $0.send("PUT", path, body: body) }) {
                AgentsCommand.grantsText($0, prefix: "granted: ", separator: ", ")
            }
        }
    }
}

/// `latchkey admin orgs|teams|projects|users create PATH` and `agents create AGENT`: `owners create KIND:PATH` by kind.
enum OwnerKindCommands {
    /// Names one kind of owner, so that ArgumentParser sees a type per subcommand.
    protocol Kind {
        static var kind: OwnerRef.Kind { get }
    }
    enum Org: Kind { static let kind = OwnerRef.Kind.org }
    enum Team: Kind { static let kind = OwnerRef.Kind.team }
    enum Project: Kind { static let kind = OwnerRef.Kind.project }
    enum User: Kind { static let kind = OwnerRef.Kind.user }
    enum Agent: Kind { static let kind = OwnerRef.Kind.agent }

    /// The group's name and abstract (`orgs`, `Organizations.`), then `create`'s abstract, argument and its help.
    static func words(_ kind: OwnerRef.Kind) -> (group: String, about: String, create: String, argument: String, path: String) {
        switch kind {
        case .org: ("orgs", "Organizations.", "Create an org: ORG.", "path", "ORG")
        case .team: ("teams", "Teams.", "Create a team: ORG/TEAM.", "path", "ORG/TEAM")
        case .project: ("projects", "Projects.", "Create a project: ORG/TEAM/PROJECT.", "path", "ORG/TEAM/PROJECT")
        case .user: ("users", "Users (people).", "Create a user: ORG/USER.", "path", "ORG/USER")
        case .platform: ("platform", "The platform (made by the first migration).", "The platform cannot be created.", "path", "")
        case .agent:
            ("agents", "Agents: create, keys, write-tool grants.", "Create an agent; its API key is shown once.", "agent", "agent:ORG/TEAM/PROJECT/AGENT")
        }
    }

    /// `latchkey admin orgs|teams|projects|users`, holding `create`.
    struct Group<K: Kind>: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            let words = OwnerKindCommands.words(K.kind)
            return CommandConfiguration(commandName: words.group, abstract: words.about, subcommands: [Create<K>.self])
        }
    }

    /// `create PATH`: creates `kind:PATH` through `owners create`.
    struct Create<K: Kind>: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: "create", abstract: OwnerKindCommands.words(K.kind).create)
        }
        @OptionGroup var options: AdminOptions
        @OptionGroup var output: JSONFlag
        @Argument(help: ArgumentHelp(OwnerKindCommands.words(K.kind).path, valueName: OwnerKindCommands.words(K.kind).argument))
        var path: String

        func run() async throws {
            var create = OwnersCreateCommand()
            create.options = options
            create.output = output
            let prefix = "\(K.kind.rawValue):"
            create.owner = path.hasPrefix(prefix) ? path : prefix + path
            try await create.run()
        }
    }

    typealias Orgs = Group<Org>
    typealias Teams = Group<Team>
    typealias Projects = Group<Project>
    typealias Users = Group<User>

    /// `latchkey admin grants show|set AGENT [TOOLS...]`: `agents grants` and `agents grant` under their own name.
    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grants", abstract: "The write tools an agent may call.",
            subcommands: [AgentsCommand.Grants.self, AgentsCommand.Grant.self])
    }
}
