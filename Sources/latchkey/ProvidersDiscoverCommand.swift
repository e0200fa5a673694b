import ArgumentParser
import Foundation
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyRemoteMCP
import LatchkeyRuntime

/// `latchkey providers discover URL`: how the remote MCP server at URL is authorized, as Latchkey discovers it
/// (protected resource metadata, then the authorization server's), or the one clear error that stops it.
struct ProvidersDiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover", abstract: "Show how a remote MCP server is authorized, or why Latchkey cannot use it.")

    @Argument(help: "The MCP server's URL (https; http only to loopback).") var url: String

    func run() async throws {
        let http = CurlHTTPClient(maxConnectionsPerHost: 2)
        defer { http.shutdown() }
        let discovery = AuthorizationDiscovery(transport: http, cache: MetadataCache(), clock: SystemClock())
        let found: DiscoveredAuthorization
        do {
            found = try await discovery.discover(serverURL: url)
        } catch {
            FileHandle.standardError.write(Data("latchkey: \(error.code.rawValue): \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        let server = found.authorizationServer
        var lines = [
            "resource: \(found.resource)",
            "authorization server: \(server.issuer)",
            "authorization endpoint: \(server.authorizationEndpoint)",
            "token endpoint: \(server.tokenEndpoint)",
            "registration: " + [
                server.clientIDMetadataDocuments ? "client ID metadata documents" : nil,
                server.registrationEndpoint.map { "dynamic (\($0))" },
            ].compactMap { $0 }.joined(separator: ", "),
        ]
        if let scopes = found.protectedResource.scopesSupported { lines.append("scopes: \(scopes.joined(separator: " "))") }
        print(lines.joined(separator: "\n"))
    }
}
