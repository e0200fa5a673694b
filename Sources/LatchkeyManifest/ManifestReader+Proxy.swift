import Foundation
import LatchkeyModel
import Yams

/// The `connection_config:`, `proxy:` and `pricing:` sections.
extension ManifestReader {
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
            return .basic(username: PlaceholderTemplate(user), password: PlaceholderTemplate(pass))
        default:
            guard let name = c.requiredString(kinds[0]) else { return nil }
            let format = c.optionalString("format") ?? (kinds[0] == "header" ? "Bearer {access_token}" : "{\(credentialNames.sorted().first ?? "api_key")}")
            guard checkFormat(format, c.child("format") ?? c) else { return nil }
            if kinds[0] == "header", !HeaderRules.isSafe(name: name, value: "x") {
                c.child("header")?.report("'\(name)' is not a valid header name")
                return nil
            }
            let template = PlaceholderTemplate(format)
            return kinds[0] == "header" ? .header(name: name, format: template) : .query(name: name, format: template)
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
}
