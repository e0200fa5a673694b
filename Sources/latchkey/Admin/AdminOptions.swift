import ArgumentParser
import Foundation
import LatchkeyHTTP

/// Where the server is and the admin key to use, shared by every `latchkey admin` subcommand.
///
/// The URL is `--url`, else `LATCHKEY_URL`, else `http://127.0.0.1:8080`. The admin key is `--admin-key`, else
/// `LATCHKEY_ADMIN_KEY`, else the server's key file (`LATCHKEY_ADMIN_KEY_FILE`, default `.latchkey/admin.key`).
struct AdminOptions: ParsableArguments {
    @Option(help: "The server's URL (default: LATCHKEY_URL, else http://127.0.0.1:8080)")
    var url: String?

    @Option(name: .customLong("admin-key"), help: "The admin key (default: LATCHKEY_ADMIN_KEY, else the admin key file)")
    var adminKey: String?

    /// A client for the server, on `transport`. Throws ``AdminClientError/Kind/unauthorized`` when no admin key is found.
    func client(transport: any HTTPTransport, environment: [String: String]) throws(AdminClientError) -> AdminClient {
        let value = { (name: String) -> String? in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let baseURL = url ?? value("LATCHKEY_URL") ?? "http://127.0.0.1:8080"
        let keyFile = value("LATCHKEY_ADMIN_KEY_FILE") ?? ".latchkey/admin.key"
        let fromFile = FileManager.default.contents(atPath: keyFile)
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { $0.isEmpty ? nil : $0 }
        guard let key = adminKey ?? value("LATCHKEY_ADMIN_KEY") ?? fromFile else {
            throw AdminClientError(.unauthorized, "no admin key: set LATCHKEY_ADMIN_KEY or pass --admin-key (the server keeps a generated one in \(keyFile))")
        }
        return AdminClient(baseURL: baseURL, adminKey: key, transport: transport)
    }
}
