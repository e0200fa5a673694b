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
        "id", "name", "docs", "categories", "kind", "mcp", "auth", "connection_config", "proxy", "pricing", "tools",
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
        let kind = readEnum(root, "kind", ProviderKind.self)
        // An unknown kind says nothing of which sections belong: one diagnostic, not one per section.
        if root.child("kind") != nil, kind == nil { return nil }
        if kind == .mcp {
            let spec = readRemoteMCP()
            let pricing = readPricing()
            guard let id, let name, let docs, let spec, let pricing else { return nil }
            return .remoteMCP(
                id: ProviderID(id), name: name, spec: spec, docs: docs, categories: categories, pricing: pricing, origin: .file)
                .withSourcePath(file)
        }
        if let mcp = root.child("mcp") { mcp.report("only a manifest with kind: mcp has an mcp section") }

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
