import ArgumentParser

/// `latchkey`: the OAuth connection broker for AI agents.
@main
struct LatchkeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "An OAuth connection broker for AI agents.",
        subcommands: [ServeCommand.self, ProvidersCommand.self])
}
