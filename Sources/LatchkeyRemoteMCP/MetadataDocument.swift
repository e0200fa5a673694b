import Foundation
import LatchkeyManifest
import LatchkeyModel

/// A JSON metadata document being read: every problem is `invalid_provider_response` naming the document (and where
/// it came from) and the field.
struct MetadataDocument {
    /// `protected resource metadata`, `authorization server metadata`.
    let name: String
    let url: String
    let object: [String: JSONValue]

    init(name: String, url: String, body: [UInt8]) throws(LatchkeyError) {
        self.name = name
        self.url = url
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            throw LatchkeyError(.invalidProviderResponse, "\(name) at \(url.prefix(200)): not a JSON object")
        }
        self.object = object
    }

    func problem(_ field: String, _ message: String) -> LatchkeyError {
        LatchkeyError(.invalidProviderResponse, "\(name) at \(url.prefix(200)): \(field): \(message)", field: field)
    }

    func string(_ field: String) throws(LatchkeyError) -> String {
        guard let value = try optionalString(field) else { throw problem(field, "required, and missing") }
        return value
    }

    func optionalString(_ field: String) throws(LatchkeyError) -> String? {
        switch object[field] {
        case nil, .null?: return nil
        case .string(let value)? where !value.isEmpty: return value
        default: throw problem(field, "must be a non-empty string")
        }
    }

    /// A URL the document names: `https`, or `http` only to a loopback host (for tests).
    func url(_ field: String) throws(LatchkeyError) -> String {
        guard let value = try optionalURL(field) else { throw problem(field, "required, and missing") }
        return value
    }

    func optionalURL(_ field: String) throws(LatchkeyError) -> String? {
        guard let value = try optionalString(field) else { return nil }
        guard URLRules.isAllowed(value) else { throw problem(field, "'\(value.prefix(100))' must be https (http only to loopback)") }
        return value
    }

    func strings(_ field: String) throws(LatchkeyError) -> [String]? {
        switch object[field] {
        case nil, .null?: return nil
        case .array(let values)?:
            var out: [String] = []
            for value in values {
                guard case .string(let s) = value else { throw problem(field, "must be an array of strings") }
                out.append(s)
            }
            return out
        default: throw problem(field, "must be an array of strings")
        }
    }

    func bool(_ field: String) throws(LatchkeyError) -> Bool? {
        switch object[field] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        default: throw problem(field, "must be true or false")
        }
    }
}
