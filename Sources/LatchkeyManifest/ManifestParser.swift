import Foundation
import LatchkeyModel
import Yams

/// Reads one manifest's YAML into a `ProviderManifest`, reporting every problem it finds.
///
/// Parsing never stops at the first problem: a broken manifest yields all of its diagnostics at once.
public enum ManifestParser {
    /// Parses `yaml` read from `file`. `expectedID` is the file name without `.yaml`, when known.
    public static func parse(yaml: String, file: String, expectedID: String?) -> Result<ProviderManifest, ManifestErrors> {
        let sink = DiagnosticSink(file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                sink.report(line: 1, field: "(document)", "the file is empty")
                return .failure(ManifestErrors(sink.diagnostics))
            }
            root = node
        } catch let error as YamlError {
            sink.report(line: error.line, field: "(document)", "YAML syntax error: \(error.shortDescription)")
            return .failure(ManifestErrors(sink.diagnostics))
        } catch {
            sink.report(line: 1, field: "(document)", "YAML syntax error")
            return .failure(ManifestErrors(sink.diagnostics))
        }
        let manifest = ManifestReader(root: YAMLCursor(node: root, path: "", sink: sink), file: file, expectedID: expectedID).read()
        if let manifest, sink.diagnostics.isEmpty { return .success(manifest) }
        return .failure(ManifestErrors(sink.diagnostics))
    }
}

/// Every problem found in one or more manifests.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ManifestDiagnostic]
    public init(_ diagnostics: [ManifestDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension YamlError {
    var line: Int {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 1
        }
    }

    var shortDescription: String {
        switch self {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(self)".split(separator: "\n").first.map(String.init) ?? "invalid YAML"
        }
    }
}

/// The reader behind `ManifestParser`: one method per section of the schema.
struct ManifestReader {
    let root: YAMLCursor
    let file: String
    let expectedID: String?

    static let topLevelKeys: Set<String> = [
        "id", "name", "docs", "categories", "auth", "connection_config", "proxy", "pricing", "tools",
    ]

    func read() -> ProviderManifest? {
        guard root.entries() != nil else { return nil }
        root.rejectUnknownKeys(Self.topLevelKeys)

        let id = root.requiredString("id")
        if let id {
            if !ProviderID.isValid(id) {
                root.child("id")?.report("'\(id)' must match [a-z0-9][a-z0-9_-]{0,62}")
            } else if let expectedID, expectedID != id {
                root.child("id")?.report("'\(id)' must equal the file name '\(expectedID)'")
            }
        }
        let name = root.requiredString("name")
        let docs = root.requiredString("docs")
        if let docs, let c = root.child("docs"), !docs.hasPrefix("https://") { c.report("must be an https URL") }
        let categories = root.child("categories")?.stringList() ?? []

        let (config, configNames) = readConnectionConfig()

        let auth = readAuth(configNames: configNames)
        // Later sections are checked against what was declared, even when a declaration itself was faulty,
        // so that one mistake gives one diagnostic rather than a cascade.
        let savedNames = Set(root.child("auth")?.child("token_response")?.child("save")?.entries()?.map(\.key) ?? [])
        let urlNames = configNames.union(savedNames)
        let declaredMode = root.child("auth")?.child("mode")?.node.string
        let proxy = readProxy(mode: declaredMode, urlNames: urlNames)
        let pricing = readPricing()
        let tools = readTools(hasProxy: proxy != nil)

        guard let id, let name, let docs, let auth, let pricing else { return nil }
        return ProviderManifest(
            id: ProviderID(id), name: name, docs: docs, categories: categories, auth: auth,
            connectionConfig: config, proxy: proxy, pricing: pricing, tools: tools, sourcePath: file)
    }

    // MARK: auth

    func readAuth(configNames: Set<String>) -> AuthSpec? {
        guard let auth = root.child("auth") else {
            root.report("auth: required field is missing")
            return nil
        }
        guard auth.entries() != nil else { return nil }
        guard let mode = auth.requiredString("mode") else { return nil }
        switch mode {
        case "oauth2":
            return readOAuth2(auth, configNames: configNames).map(AuthSpec.oauth2)
        case "api_key":
            auth.rejectUnknownKeys(["mode", "api_key", "identity"])
            let spec = auth.child("api_key")
            spec?.rejectUnknownKeys(["label", "help_url"])
            let identity = auth.child("identity").flatMap { readIdentity($0, urlNames: configNames, allowTokenResponse: false) }
            if let help = spec?.optionalString("help_url"), !help.hasPrefix("https://") {
                spec?.child("help_url")?.report("must be an https URL")
            }
            return .apiKey(APIKeySpec(
                label: spec?.optionalString("label") ?? "API key", helpURL: spec?.optionalString("help_url"), identity: identity))
        case "basic":
            auth.rejectUnknownKeys(["mode", "basic", "identity"])
            let spec = auth.child("basic")
            spec?.rejectUnknownKeys(["username_label", "password_label"])
            let identity = auth.child("identity").flatMap { readIdentity($0, urlNames: configNames, allowTokenResponse: false) }
            return .basic(BasicSpec(
                usernameLabel: spec?.optionalString("username_label") ?? "Username",
                passwordLabel: spec?.optionalString("password_label") ?? "Password", identity: identity))
        case "none":
            auth.rejectUnknownKeys(["mode"])
            return AuthSpec.none
        default:
            auth.child("mode")?.report("'\(mode)' is not one of oauth2, api_key, basic, none")
            return nil
        }
    }

    static let oauth2Keys: Set<String> = [
        "mode", "authorization_url", "token_url", "revocation_url", "scopes", "scope_separator", "pkce", "client_auth",
        "token_request_format", "authorization_params", "token_params", "token_response", "default_token_lifetime",
        "issuer", "resource", "identity",
    ]

    func readOAuth2(_ auth: YAMLCursor, configNames: Set<String>) -> OAuth2Spec? {
        auth.rejectUnknownKeys(Self.oauth2Keys)
        let paths = readTokenResponse(auth.child("token_response"))
        // The authorization and token URLs are used before any token exists: only config values fit there.
        let authorizationURL = readURL(auth, "authorization_url", allowed: configNames, required: true)
        let tokenURL = readURL(auth, "token_url", allowed: configNames, required: true)
        let urlNames = configNames.union(paths.save.keys)
        let revocationURL = readURL(auth, "revocation_url", allowed: urlNames, required: false)
        let scopes = auth.child("scopes")?.stringList() ?? []
        let separator = auth.child("scope_separator").flatMap { $0.anyString() } ?? " "
        if separator.isEmpty { auth.child("scope_separator")?.report("must not be empty") }
        let pkce = auth.optionalBool("pkce") ?? true
        let clientAuth = readEnum(auth, "client_auth", ClientAuthMethod.self) ?? .clientSecretBasic
        let format = readEnum(auth, "token_request_format", BodyFormat.self) ?? .form
        let authorizationParams = auth.child("authorization_params")?.stringMap() ?? [:]
        let tokenParams = auth.child("token_params")?.stringMap() ?? [:]
        for reserved in ["client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "response_type"]
        where authorizationParams[reserved] != nil {
            auth.child("authorization_params")?.child(reserved)?.report("is set by Latchkey and may not be overridden")
        }

        var lifetime: Int?
        if let c = auth.child("default_token_lifetime") {
            if c.node.string == "never" {
                lifetime = nil
            } else if let seconds = c.node.int, seconds > 0 {
                lifetime = seconds
            } else {
                c.report("expected a positive number of seconds, or never")
            }
        } else {
            auth.sink.report(
                line: auth.line, field: "auth.default_token_lifetime",
                "required for oauth2: seconds, or never when the provider documents non-expiring tokens")
        }
        var issuer: String?
        if let c = auth.child("issuer"), let s = c.string() {
            if isAllowedURL(s) { issuer = s } else { c.report("must be an https URL (http only to loopback)") }
        }
        let resource = auth.optionalString("resource")
        let identity = auth.child("identity").flatMap { readIdentity($0, urlNames: urlNames, allowTokenResponse: true) }

        guard let authorizationURL, let tokenURL else { return nil }
        return OAuth2Spec(
            authorizationURL: authorizationURL, tokenURL: tokenURL, revocationURL: revocationURL, scopes: scopes,
            scopeSeparator: separator.isEmpty ? " " : separator, pkce: pkce, clientAuth: clientAuth,
            tokenRequestFormat: format, authorizationParams: authorizationParams, tokenParams: tokenParams,
            tokenResponse: paths, defaultTokenLifetime: lifetime, issuer: issuer, resource: resource, identity: identity)
    }

    func readTokenResponse(_ cursor: YAMLCursor?) -> TokenResponsePaths {
        var paths = TokenResponsePaths()
        guard let cursor else { return paths }
        cursor.rejectUnknownKeys(["access_token", "refresh_token", "expires_in", "expires_in_unit", "scope", "token_type", "save"])
        if let v = cursor.optionalString("access_token") { paths.accessToken = v }
        if let v = cursor.optionalString("refresh_token") { paths.refreshToken = v }
        if let v = cursor.optionalString("expires_in") { paths.expiresIn = v }
        if let v = readEnum(cursor, "expires_in_unit", TokenResponsePaths.ExpiryUnit.self) { paths.expiresInUnit = v }
        if let v = cursor.optionalString("scope") { paths.scope = v }
        if let v = cursor.optionalString("token_type") { paths.tokenType = v }
        if let save = cursor.child("save"), let map = save.stringMap() {
            for key in map.keys where !Placeholders.isName(Substring(key)) {
                save.child(key)?.report("'\(key)' is not a valid value name ([A-Za-z_][A-Za-z0-9_]*)")
            }
            paths.save = map
        }
        return paths
    }

    func readIdentity(_ c: YAMLCursor, urlNames: Set<String>, allowTokenResponse: Bool) -> IdentitySpec? {
        c.rejectUnknownKeys(["url", "method", "headers", "body", "id", "name", "from"])
        let idPath = c.requiredString("id")
        let namePath = c.optionalString("name")
        if let from = c.optionalString("from") {
            guard from == "token_response", allowTokenResponse else {
                c.child("from")?.report(allowTokenResponse ? "only token_response is supported" : "only oauth2 identities may read the token response")
                return nil
            }
            if c.child("url") != nil { c.child("url")?.report("give either url or from, not both") }
            guard let idPath else { return nil }
            return IdentitySpec(source: .tokenResponse, idPath: idPath, namePath: namePath)
        }
        let url = readURL(c, "url", allowed: urlNames, required: true)
        let method = c.optionalString("method") ?? "GET"
        if !["GET", "POST"].contains(method) { c.child("method")?.report("must be GET or POST") }
        let headers = c.child("headers")?.stringMap() ?? [:]
        let body = c.child("body")?.anyString()
        guard let url, let idPath else { return nil }
        return IdentitySpec(source: .request(url: url, method: method, headers: headers, body: body), idPath: idPath, namePath: namePath)
    }

    // MARK: connection_config

    /// The valid fields, and every declared name (valid or not) for checking placeholders against.
    func readConnectionConfig() -> ([ConnectionConfigField], Set<String>) {
        guard let list = root.child("connection_config")?.elements() else { return ([], []) }
        var fields: [ConnectionConfigField] = []
        var names = Set<String>()
        for element in list {
            element.rejectUnknownKeys(["name", "label", "pattern", "default"])
            guard let name = element.requiredString("name") else { continue }
            if !Placeholders.isName(Substring(name)) {
                element.child("name")?.report("'\(name)' is not a valid value name ([A-Za-z_][A-Za-z0-9_]*)")
                continue
            }
            if names.contains(name) {
                element.child("name")?.report("'\(name)' is declared twice")
                continue
            }
            names.insert(name)
            let label = element.optionalString("label") ?? name
            guard let pattern = element.requiredString("pattern") else { continue }
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                element.child("pattern")?.report("is not a valid regular expression")
                continue
            }
            let defaultValue = element.optionalString("default")
            if let defaultValue, !ConnectionConfigField.matches(pattern: pattern, defaultValue) {
                element.child("default")?.report("'\(defaultValue)' does not match the pattern")
            }
            fields.append(ConnectionConfigField(name: name, label: label, pattern: pattern, defaultValue: defaultValue))
        }
        return (fields, names)
    }

    // MARK: proxy

    func readProxy(mode: String?, urlNames: Set<String>) -> ProxySpec? {
        guard let proxy = root.child("proxy") else { return nil }
        proxy.rejectUnknownKeys(["base_url", "headers", "inject", "rate_limit", "retry_non_idempotent"])
        let baseURL = readURL(proxy, "base_url", allowed: urlNames, required: true)
        let headers = proxy.child("headers")?.stringMap() ?? [:]
        for (name, value) in headers where !HeaderRules.isSafe(name: name, value: value) {
            proxy.child("headers")?.child(name)?.report("is not a valid header name or value")
        }
        var inject: Injection?
        let credentialNames: Set<String> =
            switch mode {
            case "oauth2": ["access_token"]
            case "api_key": ["api_key"]
            case "basic": ["username", "password"]
            default: []
            }
        let knownModes: Set<String> = ["oauth2", "api_key", "basic", "none"]
        if let c = proxy.child("inject"), let mode, !knownModes.contains(mode) {
            _ = c  // the unknown mode is reported under auth.mode; checking inject against it would only cascade
        } else if let c = proxy.child("inject") {
            if mode == "none" {
                c.report("a provider with auth mode none has no credential to inject")
            } else {
                inject = readInjection(c, credentialNames: credentialNames)
            }
        } else if let mode, mode != "none" {
            proxy.report("inject: required for auth mode \(mode)")
        }
        var rateLimit: RateLimitSpec?
        if let c = proxy.child("rate_limit") {
            c.rejectUnknownKeys(["remaining_header", "reset_header", "reset_format"])
            if let remaining = c.requiredString("remaining_header"), let reset = c.requiredString("reset_header") {
                rateLimit = RateLimitSpec(
                    remainingHeader: remaining, resetHeader: reset,
                    resetFormat: readEnum(c, "reset_format", RateLimitSpec.ResetFormat.self) ?? .epochSeconds)
            }
        }
        guard let baseURL else { return nil }
        return ProxySpec(
            baseURL: baseURL, headers: headers, inject: inject, rateLimit: rateLimit,
            retryNonIdempotent: proxy.optionalBool("retry_non_idempotent") ?? false)
    }

    func readInjection(_ c: YAMLCursor, credentialNames: Set<String>) -> Injection? {
        c.rejectUnknownKeys(["header", "query", "format", "basic"])
        func checkFormat(_ format: String, _ cursor: YAMLCursor?) -> Bool {
            let names = Set(Placeholders.names(in: format))
            let unknown = names.subtracting(credentialNames)
            if !unknown.isEmpty || names.isEmpty {
                cursor?.report(
                    names.isEmpty
                        ? "must contain a credential placeholder: \(credentialNames.sorted().map { "{\($0)}" }.joined(separator: " or "))"
                        : "unknown placeholder {\(unknown.sorted()[0])}; allowed here: \(credentialNames.sorted().map { "{\($0)}" }.joined(separator: ", "))")
                return false
            }
            return true
        }
        let kinds = ["header", "query", "basic"].filter { c.child($0) != nil }
        guard kinds.count == 1 else {
            c.report("give exactly one of header, query or basic")
            return nil
        }
        switch kinds[0] {
        case "basic":
            guard let b = c.child("basic") else { return nil }
            b.rejectUnknownKeys(["username", "password"])
            let user = b.child("username")?.anyString() ?? ""
            let pass = b.child("password")?.anyString() ?? ""
            guard checkFormat(user + pass, b) else { return nil }
            return .basic(username: user, password: pass)
        default:
            guard let name = c.requiredString(kinds[0]) else { return nil }
            let format = c.optionalString("format") ?? (kinds[0] == "header" ? "Bearer {access_token}" : "{\(credentialNames.sorted().first ?? "api_key")}")
            guard checkFormat(format, c.child("format") ?? c) else { return nil }
            if kinds[0] == "header", !HeaderRules.isSafe(name: name, value: "x") {
                c.child("header")?.report("'\(name)' is not a valid header name")
                return nil
            }
            return kinds[0] == "header" ? .header(name: name, format: format) : .query(name: name, format: format)
        }
    }

    // MARK: pricing

    func readPricing() -> Pricing? {
        guard let c = root.child("pricing") else { return .free }
        if c.node.string == "free" { return .free }
        guard c.entries() != nil else { return nil }
        c.rejectUnknownKeys(["metered", "credits_per_call"])
        guard c.optionalBool("metered") == true else {
            c.report("expected free, or {metered: true, credits_per_call: N}")
            return nil
        }
        guard let credits = c.child("credits_per_call")?.int(), credits > 0 else {
            c.report("credits_per_call: required, a positive integer")
            return nil
        }
        return .metered(creditsPerCall: credits)
    }

    // MARK: tools

    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    func readTools(hasProxy: Bool) -> [ToolSpec] {
        guard let list = root.child("tools")?.elements() else { return [] }
        if !list.isEmpty, !hasProxy, root.child("proxy") == nil {
            root.child("tools")?.report("tools need a proxy section with base_url")
        }
        var tools: [ToolSpec] = []
        for element in list {
            element.rejectUnknownKeys(["name", "description", "access", "request", "input"])
            guard let name = element.requiredString("name") else { continue }
            if !ToolSpec.isValidName(name) {
                element.child("name")?.report("'\(name)' must match [a-z][a-z0-9_]{0,62}")
                continue
            }
            if tools.contains(where: { $0.name == name }) {
                element.child("name")?.report("tool '\(name)' is declared twice")
                continue
            }
            let description = element.requiredString("description")
            let access = readEnum(element, "access", ToolSpec.Access.self, required: true)
            let input = element.child("input")
            let properties = readInputSchema(input)
            guard let request = element.child("request") else {
                element.report("request: required field is missing")
                continue
            }
            request.rejectUnknownKeys(["method", "path", "query", "body", "body_format", "headers"])
            let method = request.requiredString("method")?.uppercased()
            if let method, !Self.methods.contains(method) {
                request.child("method")?.report("'\(method)' is not one of \(Self.methods.sorted().joined(separator: ", "))")
            }
            let path = request.requiredString("path")
            if let path, let c = request.child("path") {
                if !path.hasPrefix("/") || path.hasPrefix("//") { c.report("must start with a single /") }
                checkToolPlaceholders(Placeholders.names(in: path), properties, c)
            }
            let query = request.child("query")?.stringMap() ?? [:]
            for (key, value) in query {
                checkToolPlaceholders(Placeholders.names(in: value), properties, request.child("query")?.child(key))
            }
            let headers = request.child("headers")?.stringMap() ?? [:]
            for (key, value) in headers {
                checkToolPlaceholders(Placeholders.names(in: value), properties, request.child("headers")?.child(key))
            }
            var body: JSONValue?
            if let b = request.child("body") {
                let value = b.json()
                checkToolPlaceholders(Self.placeholders(inJSON: value), properties, b)
                body = value
            }
            let bodyFormat = readEnum(request, "body_format", BodyFormat.self) ?? .json
            guard let description, let access, let method, let path, let input, properties != nil else { continue }
            tools.append(ToolSpec(
                name: name, description: description, access: access, method: method, path: path, query: query,
                body: body, bodyFormat: bodyFormat, headers: headers, input: input.json()))
        }
        return tools
    }

    /// Checks that the input is an object schema and returns its property names.
    func readInputSchema(_ input: YAMLCursor?) -> Set<String>? {
        guard let input else {
            root.report("tool input: required field is missing")
            return nil
        }
        guard input.entries() != nil else { return nil }
        guard input.optionalString("type") == "object" else {
            input.report("type: must be object")
            return nil
        }
        var names = Set<String>()
        if let props = input.child("properties") {
            for (key, value) in props.entries() ?? [] {
                names.insert(key)
                if value.child("type") == nil && value.child("enum") == nil && value.child("anyOf") == nil {
                    value.report("each property needs a type")
                }
            }
        }
        if let required = input.child("required")?.stringList() {
            for r in required where !names.contains(r) {
                input.child("required")?.report("'\(r)' is required but not a property")
            }
        }
        return names
    }

    func checkToolPlaceholders(_ used: [String], _ properties: Set<String>?, _ cursor: YAMLCursor?) {
        guard let properties else { return }
        for name in used where !properties.contains(name) {
            cursor?.report("placeholder {\(name)} is not an input property")
        }
    }

    static func placeholders(inJSON value: JSONValue) -> [String] {
        switch value {
        case .string(let s): Placeholders.names(in: s)
        case .array(let a): a.flatMap(placeholders(inJSON:))
        case .object(let o): o.keys.sorted().flatMap { placeholders(inJSON: o[$0]!) }
        default: []
        }
    }

    // MARK: shared readers

    func readEnum<E: RawRepresentable & CaseIterable>(
        _ c: YAMLCursor, _ key: String, _ type: E.Type, required: Bool = false
    ) -> E? where E.RawValue == String {
        guard let child = c.child(key) else {
            if required { c.sink.report(line: c.line, field: c.path.isEmpty ? key : "\(c.path).\(key)", "required field is missing") }
            return nil
        }
        guard let raw = child.string() else { return nil }
        guard let value = E(rawValue: raw) else {
            child.report("'\(raw)' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// Reads a URL template and checks its scheme, host and placeholders.
    func readURL(_ c: YAMLCursor, _ key: String, allowed: Set<String>, required: Bool) -> URLTemplate? {
        guard let child = c.child(key) else {
            if required { c.sink.report(line: c.line, field: c.path.isEmpty ? key : "\(c.path).\(key)", "required field is missing") }
            return nil
        }
        guard let raw = child.string() else { return nil }
        let template = URLTemplate(raw)
        var ok = true
        for name in template.placeholders where !allowed.contains(name) {
            child.report(
                "unknown placeholder {\(name)}: URLs may use connection_config names and token_response.save values"
                    + (allowed.isEmpty ? " (none are declared)" : " (\(allowed.sorted().joined(separator: ", ")))"))
            ok = false
        }
        // A URL that starts with a saved value (such as {instance_url}) is checked again once the value is known.
        if !raw.hasPrefix("{"), !isAllowedURL(raw) {
            child.report("must be https (http is allowed only to loopback hosts): '\(raw)'")
            ok = false
        }
        return ok ? template : nil
    }

    func isAllowedURL(_ raw: String) -> Bool {
        URLRules.isAllowed(raw)
    }
}

extension ConnectionConfigField {
    /// Whether `value` matches `pattern` as a whole.
    public static func matches(pattern: String, _ value: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
        let range = NSRange(value.startIndex..., in: value)
        return regex.firstMatch(in: value, range: range) != nil
    }

    /// Whether `value` is acceptable for this field.
    public func accepts(_ value: String) -> Bool { Self.matches(pattern: pattern, value) }
}

extension ToolSpec {
    public static func isValidName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (1...63).contains(b.count), (0x61...0x7A).contains(b[0]) else { return false }
        return b.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }
}
