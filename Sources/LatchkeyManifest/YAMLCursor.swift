import LatchkeyModel
import Yams

/// Collects diagnostics while a manifest is read.
final class DiagnosticSink {
    let file: String
    private(set) var diagnostics: [ManifestDiagnostic] = []

    init(file: String) { self.file = file }

    func report(line: Int, field: String, _ message: String) {
        diagnostics.append(ManifestDiagnostic(file: file, line: line, field: field, message: message))
    }
}

/// A position in a YAML document: a node, the dotted path to it, and its line, with typed readers that
/// report what is wrong instead of throwing, so one pass finds every problem.
struct YAMLCursor {
    let node: Node
    let path: String
    let sink: DiagnosticSink

    var line: Int { node.mark?.line ?? 1 }

    func report(_ message: String) { sink.report(line: line, field: path, message) }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The mapping's entries, in document order, or nil (reported) when this is not a mapping.
    func entries() -> [(key: String, value: YAMLCursor)]? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping")
            return nil
        }
        return mapping.map { pair in
            let key = pair.key.string ?? ""
            return (key, YAMLCursor(node: pair.value, path: childPath(key), sink: sink))
        }
    }

    /// The value under `key`, or nil when absent. Reports keys outside `allowed` when given.
    func child(_ key: String) -> YAMLCursor? {
        guard case .mapping(let mapping) = node else { return nil }
        for pair in mapping where pair.key.string == key {
            return YAMLCursor(node: pair.value, path: childPath(key), sink: sink)
        }
        return nil
    }

    /// Reports every key that is not in `allowed`.
    func rejectUnknownKeys(_ allowed: Set<String>) {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping")
            return
        }
        for pair in mapping {
            let key = pair.key.string ?? "?"
            if !allowed.contains(key) {
                sink.report(
                    line: pair.key.mark?.line ?? line, field: childPath(key),
                    "unknown field (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// A required string under `key`; reports when missing or not a string.
    func requiredString(_ key: String) -> String? {
        guard let c = child(key) else {
            sink.report(line: line, field: childPath(key), "required field is missing")
            return nil
        }
        return c.string()
    }

    func optionalString(_ key: String) -> String? { child(key)?.string() }

    /// This node as a non-empty string scalar.
    func string() -> String? {
        guard case .scalar(let scalar) = node else {
            report("expected a string")
            return nil
        }
        if scalar.string.isEmpty {
            report("must not be empty")
            return nil
        }
        return scalar.string
    }

    /// This node as a string scalar, allowing empty strings.
    func anyString() -> String? {
        guard case .scalar(let scalar) = node else {
            report("expected a string")
            return nil
        }
        return scalar.string
    }

    func optionalBool(_ key: String) -> Bool? {
        guard let c = child(key) else { return nil }
        guard let b = c.node.bool else {
            c.report("expected true or false")
            return nil
        }
        return b
    }

    func int() -> Int? {
        guard let i = node.int else {
            report("expected an integer")
            return nil
        }
        return i
    }

    /// A list of strings; reports each element that is not a string.
    func stringList() -> [String]? {
        guard case .sequence(let seq) = node else {
            report("expected a list")
            return nil
        }
        var out: [String] = []
        for (i, element) in seq.enumerated() {
            let c = YAMLCursor(node: element, path: "\(path)[\(i)]", sink: sink)
            if let s = c.string() { out.append(s) }
        }
        return out
    }

    /// A mapping of scalar values to strings (numbers and booleans are kept as written).
    func stringMap() -> [String: String]? {
        guard let entries = entries() else { return nil }
        var out: [String: String] = [:]
        for (key, value) in entries {
            if case .scalar(let s) = value.node { out[key] = s.string } else { value.report("expected a scalar value") }
        }
        return out
    }

    /// The elements of a list, each with its own cursor.
    func elements() -> [YAMLCursor]? {
        guard case .sequence(let seq) = node else {
            report("expected a list")
            return nil
        }
        return seq.enumerated().map { YAMLCursor(node: $1, path: "\(path)[\($0)]", sink: sink) }
    }

    /// This node as JSON: scalars by their resolved YAML type.
    func json() -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if node.null != nil { return .null }
                if let b = node.bool { return .bool(b) }
                if let i = node.int { return .number(Double(i)) }
                if let d = node.float { return .number(d) }
            }
            return .string(scalar.string)
        case .sequence(let seq):
            return .array(seq.map { YAMLCursor(node: $0, path: path, sink: sink).json() })
        case .mapping(let mapping):
            var out: [String: JSONValue] = [:]
            for pair in mapping {
                out[pair.key.string ?? ""] = YAMLCursor(node: pair.value, path: path, sink: sink).json()
            }
            return .object(out)
        case .alias:
            report("YAML aliases are not supported")
            return .null
        }
    }
}
