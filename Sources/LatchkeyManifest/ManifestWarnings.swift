/// What `providers validate` warns about without failing: a manifest that loads and works, but is unsafe for some uses.
public enum ManifestWarnings {
    /// The warnings of one manifest, each as `file:0: field: warning: message`.
    public static func of(_ manifest: ProviderManifest) -> [ManifestDiagnostic] {
        var warnings: [ManifestDiagnostic] = []
        if manifest.kind == .mcp {
            warnings.append(ManifestDiagnostic(
                file: manifest.sourcePath, line: 0, field: "mcp",
                message: "warning: a remote MCP server names no account, so Latchkey cannot check that a reconnect keeps the same "
                    + "account; do not use \(manifest.id) for shared owners (org, team, project)"))
        } else if manifest.auth != .none, manifest.auth.identity == nil {
            warnings.append(ManifestDiagnostic(
                file: manifest.sourcePath, line: 0, field: "auth.identity",
                message: "warning: no identity lookup, so Latchkey cannot check that a reconnect keeps the same account; "
                    + "do not use \(manifest.id) for shared owners (org, team, project)"))
        }
        return warnings
    }
}

extension AuthSpec {
    /// The identity lookup of any auth mode, when the manifest has one.
    public var identity: IdentitySpec? {
        switch self {
        case .oauth2(let spec): spec.identity
        case .apiKey(let spec): spec.identity
        case .basic(let spec): spec.identity
        case .none, .remoteMCP: nil
        }
    }
}
