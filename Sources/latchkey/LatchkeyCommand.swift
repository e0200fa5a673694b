import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `latchkey`: the OAuth connection broker for AI agents.
@main
struct LatchkeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "An OAuth connection broker for AI agents.",
        subcommands: [ServeCommand.self, ProvidersCommand.self, AdminCommand.self])

    /// Parses and runs the command. A usage error of `latchkey admin ...` exits 1 like its other errors, so that
    /// scripts see 0 (ok), 1 (error) or 2 (wrong or missing admin key); elsewhere ArgumentParser's codes stand.
    static func main() async {
        if CommandLine.arguments.dropFirst().first == "serve",
            ProcessInfo.processInfo.environment["LATCHKEY_NIO_EXECUTOR"] != "off"
        {
            // Swift tasks then run on NIO's event loop threads, so a request is not handed between NIO's threads
            // and the concurrency pool at every await (measured in benchmarks/README.md).
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if CommandLine.arguments.dropFirst().first == "admin", exitCode(for: error) == .validationFailure {
                Terminal.standardError(fullMessage(for: error) + "\n")
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}
