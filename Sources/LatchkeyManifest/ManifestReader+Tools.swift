import Foundation
import LatchkeyModel
import Yams

/// The `tools:` section: each tool's request template, input schema and placeholders.
extension ManifestReader {
    // MARK: tools

    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    func readTools(hasProxy: Bool) -> [ToolSpec] {
        guard let list = root.child("tools")?.elements() else { return [] }
        if !list.isEmpty, !hasProxy, root.child("proxy") == nil {
            root.child("tools")?.report("tools need a proxy section with base_url")
        }
        var tools: [ToolSpec] = []
        for element in list {
            element.rejectUnknownKeys(["name", "description", "access", "approval", "request", "input"])
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
            let approval = readEnum(element, "approval", ToolSpec.Approval.self) ?? .none
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
                body: body, bodyFormat: bodyFormat, headers: headers, input: input.json(), approval: approval))
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
}
