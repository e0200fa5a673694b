import ArgumentParser
import Foundation
import LatchkeyModel

/// One admin API call from the CLI: send it, then print the server's JSON (`--json`) or readable text.
enum AdminCall {
    static func run(
        _ options: AdminOptions, json: Bool, _ call: @escaping (AdminClient) async throws -> AdminClient.Answer,
        text: @escaping (JSONValue) -> String
    ) async throws {
        try await AdminCommand.withClient(options) { client in
            let answer = try await call(client)
            print(json ? String(decoding: answer.body, as: UTF8.self) : text(answer.json))
        }
    }

    /// `KEY: value` lines for the named fields of an object, in the order given (absent ones skipped).
    static func fields(_ value: JSONValue, _ names: [String]) -> String {
        names.compactMap { name in
            guard let v = value.value(atPath: name), v != .null else { return nil }
            let shown = v.scalarText ?? String(decoding: v.serialized(), as: UTF8.self)
            return "\(name): \(shown.replacingControlCharacters())"
        }.joined(separator: "\n")
    }

    /// A secret (an API key, a client secret) from the environment variable `variable` when one is named, else one line
    /// of stdin; never from an argument, where other users could see it. None, or an empty one, is a usage error.
    static func secret(from variable: String?, _ what: String, option: String) throws -> String {
        let secret = variable.map { ProcessInfo.processInfo.environment[$0] } ?? readLine(strippingNewline: true)
        guard let secret, !secret.isEmpty else {
            Terminal.standardError("latchkey: no \(what): pass \(option) NAME or give it on stdin\n")
            throw ExitCode(1)
        }
        return secret
    }

    /// A path segment or query value, percent-encoded.
    static func encoded(_ value: String) -> String {
        AuditListCommand.percentEncoded(value)
    }
}

/// A flag every printing subcommand has.
struct JSONFlag: ParsableArguments {
    @Flag(help: "Print the server's JSON answer.") var json = false
}
