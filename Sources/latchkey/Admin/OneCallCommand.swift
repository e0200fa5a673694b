import ArgumentParser
import LatchkeyModel

/// An admin subcommand of the commonest shape: one argument, one call without a body, its answer printed.
///
/// Such subcommands (`connections refresh ID`, `agents new-key AGENT`, `credits show ORG`, …) differ only in
/// this data, so each is a row, and ``OneCallCommand`` is the one command that runs every row.
struct OneCall: Sendable {
    /// How the call is sent; a POST carries an empty JSON object, as ``AdminClient/post(_:body:)`` does.
    enum Method: Sendable { case get, post, delete }

    var name: String
    var abstract: String
    var aliases: [String] = []
    /// The argument's name in the usage line (`<id>`), and its help.
    var argument: String
    var help: String
    var method: Method
    /// The API path for the argument. It may reject the argument (saying why and throwing `ExitCode(1)`); it runs
    /// before any client is made, so a malformed argument is a usage error even without an admin key.
    var path: @Sendable (String) throws -> String
    /// The answer as readable text (without `--json`).
    var text: @Sendable (JSONValue) -> String
}

/// Names one ``OneCall`` row, so that ArgumentParser sees a type per subcommand.
protocol OneCallRow {
    static var call: OneCall { get }
}

/// Runs the ``OneCall`` that `Row` names: the argument's path, the call, then the JSON or text.
struct OneCallCommand<Row: OneCallRow>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Row.call.name, abstract: Row.call.abstract, aliases: Row.call.aliases)
    }

    @OptionGroup var options: AdminOptions
    @OptionGroup var output: JSONFlag
    @Argument(help: ArgumentHelp(Row.call.help, valueName: Row.call.argument)) var argument: String

    func run() async throws {
        let call = Row.call
        let path = try call.path(argument)
        try await AdminCall.run(options, json: output.json, { client in
            switch call.method {
            case .get: try await client.get(path)
            case .post: try await client.post(path)
            case .delete: try await client.send("DELETE", path, body: nil)
            }
        }, text: call.text)
    }
}
