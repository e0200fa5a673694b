import LatchkeyModel

/// Validates tool arguments against the JSON Schema subset that manifests use: `type`, `required`,
/// `properties`, `additionalProperties: false`, `enum`, `minimum`/`maximum`, `minLength`/`maxLength`,
/// `items`, `minItems`/`maxItems`. Errors name the field, as `arguments.owner`.
public enum SchemaValidator {
    public static func validate(_ value: JSONValue, against schema: JSONValue, path: String = "arguments") throws(LatchkeyError) {
        guard case .object(let s) = schema else { return }
        func fail(_ message: String) -> LatchkeyError { LatchkeyError(.invalidRequest, "\(path): \(message)", field: path) }

        if let allowed = s["enum"]?.arrayValue, !allowed.contains(where: { equalJSON($0, value) }) {
            throw fail("must be one of \(allowed.compactMap(\.scalarText).joined(separator: ", "))")
        }
        if let type = s["type"]?.stringValue {
            guard matches(type, value) else { throw fail("must be \(article(type)) \(type)") }
        }
        switch value {
        case .object(let object):
            let properties = s["properties"]?.objectValue ?? [:]
            for name in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[name] == nil || object[name] == .null {
                throw LatchkeyError(.invalidRequest, "\(path).\(name): required", field: "\(path).\(name)")
            }
            if s["additionalProperties"] == .bool(false) {
                for key in object.keys.sorted() where properties[key] == nil {
                    throw LatchkeyError(.invalidRequest, "\(path).\(key): unknown argument", field: "\(path).\(key)")
                }
            }
            for key in object.keys.sorted() {
                if let sub = properties[key], object[key] != .null { try validate(object[key]!, against: sub, path: "\(path).\(key)") }
            }
        case .array(let items):
            if let min = s["minItems"]?.number, Double(items.count) < min { throw fail("needs at least \(Int(min)) item(s)") }
            if let max = s["maxItems"]?.number, Double(items.count) > max { throw fail("takes at most \(Int(max)) item(s)") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { try validate(item, against: itemSchema, path: "\(path)[\(i)]") }
            }
        case .string(let text):
            if let min = s["minLength"]?.number, Double(text.count) < min { throw fail("must be at least \(Int(min)) character(s)") }
            if let max = s["maxLength"]?.number, Double(text.count) > max { throw fail("must be at most \(Int(max)) character(s)") }
        case .number(let n):
            if let min = s["minimum"]?.number, n < min { throw fail("must be at least \(s["minimum"]!.scalarText!)") }
            if let max = s["maximum"]?.number, n > max { throw fail("must be at most \(s["maximum"]!.scalarText!)") }
        default:
            break
        }
    }

    static func matches(_ type: String, _ value: JSONValue) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null), ("number", .number):
            true
        case ("integer", .number(let n)): n.rounded() == n && n.isFinite
        default: false
        }
    }

    static func article(_ type: String) -> String { ["array", "object", "integer"].contains(type) ? "an" : "a" }

    static func equalJSON(_ a: JSONValue, _ b: JSONValue) -> Bool { a == b }
}

extension JSONValue {
    var number: Double? { if case .number(let n) = self { n } else { nil } }
}
