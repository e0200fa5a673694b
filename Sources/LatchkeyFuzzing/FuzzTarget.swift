import Foundation
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyProxy

/// The parsers that read what strangers send, each as a fuzz target: it takes any bytes, must never crash, and checks
/// a property of what it parsed. libFuzzer drives them (`make fuzz`, the `latchkey-fuzz` executable); `swift test`
/// replays the committed corpus and every crash found so far (`Tests/Fuzz`).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A provider manifest (YAML), as `providers validate` and the server read it.
    case manifest
    /// The proxy's path guard: what it lets through stays under the provider's base URL.
    case proxyPath = "proxy-path"
    /// The OAuth callback's query string, as the callback route reads `state`, `code`, `error` and `iss`.
    case callbackQuery = "callback-query"
    /// A token endpoint's answer.
    case tokenResponse = "token-response"
    /// A JSON request body.
    case jsonBody = "json-body"
    /// A webhook's `Latchkey-Signature` header, checked against a body.
    case webhookSignature = "webhook-signature"
    /// An owner reference (`org:acme`, `agent:acme/team/project/bot`).
    case ownerReference = "owner-reference"

    /// Runs one input; returns what property it broke, or nil. A crash is a finding too.
    public func run(_ data: [UInt8]) -> String? {
        switch self {
        case .manifest: Self.manifest(data)
        case .proxyPath: Self.proxyPath(data)
        case .callbackQuery: Self.callbackQuery(data)
        case .tokenResponse: Self.tokenResponse(data)
        case .jsonBody: Self.jsonBody(data)
        case .webhookSignature: Self.webhookSignature(data)
        case .ownerReference: Self.ownerReference(data)
        }
    }

    static func manifest(_ data: [UInt8]) -> String? {
        switch ManifestParser.parse(yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml", expectedID: nil) {
        case .success(let manifest):
            return manifest.id.rawValue.isEmpty ? "a manifest without an id was accepted" : nil
        case .failure(let errors):
            return errors.diagnostics.isEmpty ? "a refused manifest names no error" : nil
        }
    }

    static let base = "https://api.example.com/v1"

    static func proxyPath(_ data: [UInt8]) -> String? {
        // The first line is the path, the rest (if any) the query.
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let query = parts.count > 1 ? String(parts[1]) : nil
        guard let target = try? ProxyTarget.target(base: base, path: path, query: query) else { return nil }
        // Built on the parsed base without parsing it again, the call's URL must read as curl reads the whole of it.
        guard let whole = try? CheckedURL(target.url), whole.scheme == target.scheme, whole.host == target.host,
            whole.port == target.port, whole.requestTarget == target.requestTarget
        else { return "the request target \(target.requestTarget) is not curl's for \(target.url)" }
        return leavesBase(target.url)
    }

    /// What is wrong with a URL the path guard let through, if anything: it must stay under ``base`` and no segment may
    /// step out, however it is spelled.
    public static func leavesBase(_ url: String) -> String? {
        guard url == base || url.hasPrefix(base + "/") || url.hasPrefix(base + "?") else {
            return "the guard let \(url) through, outside \(base)"
        }
        // Decoded, no segment of what was let through may step out (`..`, `.`), however it was spelled.
        // The path is what comes before the first `?` (nothing, when the URL is the base with a query).
        let rest = url.dropFirst(base.count).split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for segment in rest.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            // A segment's `;` parameters are not part of its name (`..;x` is `..`; `;.` is an empty name).
            let decoded = FormEncoding.percentDecode(segment).split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
                .first.map(String.init) ?? ""
            if decoded == ".." || decoded == "." { return "the guard let a dot segment through: \(url)" }
            if decoded.contains("/") || decoded.contains("\\") { return "the guard let an encoded separator through: \(url)" }
        }
        return nil
    }

    static func callbackQuery(_ data: [UInt8]) -> String? {
        let query = String(decoding: data, as: UTF8.self)
        let pairs = FormEncoding.decode(Substring(query))
        // What the route reads: the last value of each name.
        let state = pairs.last { $0.0 == "state" }?.1
        _ = (pairs.last { $0.0 == "code" }, pairs.last { $0.0 == "error" }, pairs.last { $0.0 == "iss" })
        if let state, SecretHash.sha256Hex(state).utf8.count != 64 { return "a state hashed to no SHA-256" }
        // Encoding what was decoded and decoding it again gives the same pairs.
        let again = FormEncoding.decode(Substring(FormEncoding.encode(pairs)))
        guard again.map(\.0) == pairs.map(\.0), again.map(\.1) == pairs.map(\.1) else {
            return "decoding is not the inverse of encoding for \(pairs.prefix(3))"
        }
        return nil
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func tokenResponse(_ data: [UInt8]) -> String? {
        guard let grant = try? TokenResponseParser.parse(data, paths: TokenResponsePaths(), defaultLifetime: 3600, now: now) else { return nil }
        if grant.accessToken.isEmpty { return "a grant without an access token was accepted" }
        if let expires = grant.expiresAt, !(expires.timeIntervalSince1970.isFinite) { return "an expiry that is no time" }
        return nil
    }

    static func jsonBody(_ data: [UInt8]) -> String? {
        guard let value = JSONValue.parse(data) else { return nil }
        // What Latchkey writes back of a body it read, it reads as the same value.
        let written = value.serialized()
        guard let again = JSONValue.parse(written) else { return "its own JSON does not parse: \(String(decoding: written.prefix(200), as: UTF8.self))" }
        return again == value ? nil : "a value changed on its way through JSON"
    }

    static let secret = "whsec_fuzzing-secret"

    static func webhookSignature(_ data: [UInt8]) -> String? {
        // The first line is the header as received, the rest the body.
        let split = data.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
        let header = String(decoding: split[0], as: UTF8.self)
        let body = split.count > 1 ? Array(split[1]) : []
        let timestamp = 1_800_000_000
        let genuine = WebhookSignature.header(secret: secret, timestamp: timestamp, body: body)
        guard WebhookSignature.verify(header: genuine, secret: secret, timestamp: timestamp, body: body) else {
            return "a genuine signature was refused"
        }
        // Accepted only where the header carries the genuine signature itself.
        let genuineHex = String(genuine.dropFirst(3))
        if WebhookSignature.verify(header: header, secret: secret, timestamp: timestamp, body: body), !header.contains(genuineHex) {
            return "a forged signature was accepted: \(header.prefix(200))"
        }
        return nil
    }

    static func ownerReference(_ data: [UInt8]) -> String? {
        let text = String(decoding: data, as: UTF8.self)
        guard let owner = try? OwnerRef(parsing: text) else { return nil }
        // What is accepted is written back as it reads, and reads back as the same owner.
        guard let again = try? OwnerRef(parsing: owner.description), again == owner else {
            return "\(owner.description) does not read back as itself"
        }
        return nil
    }
}
