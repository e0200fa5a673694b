import Foundation
import LatchkeyModel
import LatchkeyProxy

/// Masks what looks like a secret in a held call before a person sees it: header values and JSON members whose
/// names speak of credentials. The call itself runs as the agent sent it; only the view is masked.
enum SecretMask {
    static let masked = "[hidden]"
    /// Name parts that mark a value as a secret (compared case-insensitively, ignoring `-` and `_`).
    static let secretWords = ["authorization", "password", "passwd", "secret", "token", "apikey", "credential", "privatekey", "cookie",
                              "session", "signature"]
    /// The most of a non-JSON body shown.
    static let textLimit = 4096

    /// Whether a header or member named `name` holds a secret.
    static func isSecret(_ name: String) -> Bool {
        let folded = name.lowercased().filter { $0 != "-" && $0 != "_" }
        return secretWords.contains { folded.contains($0) } || folded.hasSuffix("key")
    }

    /// `value` with every member whose name holds a secret replaced, at any depth.
    static func mask(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(members.reduce(into: [:]) { out, member in
                out[member.key] = isSecret(member.key) ? .string(masked) : mask(member.value)
            })
        case .array(let items):
            return .array(items.map(mask))
        default:
            return value
        }
    }

    /// A held call as a person sees it before deciding.
    static func view(_ call: PendingCall) -> JSONValue {
        switch call {
        case .tool(let name, let arguments):
            return .object(["tool": .string(name), "arguments": mask(arguments)])
        case .proxy(let method, let path, let query, let headers, let body):
            var object: [String: JSONValue] = [
                "method": .string(method), "path": .string("/" + path),
                "headers": .object(headers.reduce(into: [:]) { $0[$1.name] = .string(isSecret($1.name) ? masked : $1.value) }),
            ]
            if let query { object["query"] = .string(maskQuery(query)) }
            if let body { object["body"] = bodyView(body) }
            return .object(object)
        }
    }

    /// A query string with the values of secret-named parameters replaced.
    static func maskQuery(_ query: String) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            return parts.count == 2 && isSecret(name) ? "\(parts[0])=\(masked)" : String(pair)
        }.joined(separator: "&")
    }

    /// A body as shown: JSON masked, a form with secret fields masked, other text cut at ``textLimit``, bytes counted.
    static func bodyView(_ body: Data) -> JSONValue {
        if let json = JSONValue.parse(Array(body)) { return mask(json) }
        guard let text = String(data: body, encoding: .utf8) else { return .string("(\(body.count) bytes)") }
        if text.contains("="), !text.contains(" "), !text.contains("\n") { return .string(String(maskQuery(text).prefix(textLimit))) }
        return .string(text.count > textLimit ? String(text.prefix(textLimit)) + "…" : text)
    }
}
