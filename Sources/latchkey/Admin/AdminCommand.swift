import ArgumentParser
import Foundation
import LatchkeyHTTP

/// `latchkey admin ...`: administers a running server through its admin API.
///
/// Exit codes: 0 when the call succeeded, 1 for a server or usage error, 2 for a wrong or missing admin key.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Administer a running Latchkey server (LATCHKEY_URL, LATCHKEY_ADMIN_KEY).",
        subcommands: [
            OwnerKindCommands.Orgs.self, OwnerKindCommands.Teams.self, OwnerKindCommands.Projects.self, OwnerKindCommands.Users.self,
            AgentsCommand.self, OwnersCommand.self, AppsCommand.self, OwnerKindCommands.Grants.self, ConnectionsCommand.self,
            CreditsCommand.self, KeysCommand.self, AuditCommand.self, BackupCommand.self,
        ])

    /// Runs `body` with a client for the server. A failure is printed on stderr and becomes the exit code.
    static func withClient(_ options: AdminOptions, _ body: (AdminClient) async throws -> Void) async throws {
        let http = CurlHTTPClient(maxConnectionsPerHost: 2)
        defer { http.shutdown() }
        do {
            try await body(try options.client(transport: http, environment: ProcessInfo.processInfo.environment))
        } catch let error as AdminClientError {
            Terminal.standardError("latchkey: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }
}
