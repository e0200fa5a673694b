import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyOAuth

/// A JSON request body with typed readers whose errors name the field.
struct JSONBody {
    let object: [String: JSONValue]

    /// Reads and parses the request body as a JSON object of at most `limit` bytes.
    static func read(_ request: Request, limit: Int) async throws -> JSONBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw LatchkeyError(.invalidRequest, "the request body exceeds \(limit) bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        if bytes.isEmpty { return JSONBody(object: [:]) }
        guard let json = JSONValue.parse(bytes), case .object(let object) = json else {
            throw LatchkeyError(.invalidRequest, "the request body must be a JSON object")
        }
        return JSONBody(object: object)
    }

    func string(_ field: String) throws(LatchkeyError) -> String {
        guard let value = object[field] else { throw LatchkeyError(.invalidRequest, "\(field): required", field: field) }
        guard case .string(let s) = value, !s.isEmpty else {
            throw LatchkeyError(.invalidRequest, "\(field): must be a non-empty string", field: field)
        }
        return s
    }

    func optionalString(_ field: String) throws(LatchkeyError) -> String? {
        guard let value = object[field], value != .null else { return nil }
        guard case .string(let s) = value else { throw LatchkeyError(.invalidRequest, "\(field): must be a string", field: field) }
        return s
    }

    func stringList(_ field: String) throws(LatchkeyError) -> [String]? {
        guard let value = object[field], value != .null else { return nil }
        guard case .array(let items) = value else { throw LatchkeyError(.invalidRequest, "\(field): must be a list of strings", field: field) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item, !s.isEmpty else {
                throw LatchkeyError(.invalidRequest, "\(field): must be a list of non-empty strings", field: field)
            }
            out.append(s)
        }
        return out
    }

    func stringMap(_ field: String) throws(LatchkeyError) -> [String: String] {
        guard let value = object[field], value != .null else { return [:] }
        guard case .object(let o) = value else { throw LatchkeyError(.invalidRequest, "\(field): must be an object of strings", field: field) }
        var out: [String: String] = [:]
        for (k, v) in o {
            guard case .string(let s) = v else { throw LatchkeyError(.invalidRequest, "\(field).\(k): must be a string", field: "\(field).\(k)") }
            out[k] = s
        }
        return out
    }

    /// The owner reference in `field`, parsed. `platform` is refused unless the caller takes managed credentials (apps
    /// and API-key connections).
    func owner(_ field: String = "owner", platform: Bool = false) throws(LatchkeyError) -> OwnerRef {
        let owner = try OwnerRef(parsing: try string(field), field: field)
        return platform ? owner : try owner.refusingPlatform(field: field)
    }
}

extension Request {
    /// The URL query, decoded.
    func queryValue(_ name: String) -> String? {
        guard let query = uri.query else { return nil }
        return FormEncoding.decode(Substring(query)).last { $0.0 == name }?.1
    }

    /// The bearer token of the `Authorization` header.
    var bearerToken: String? {
        guard let value = headers.value(of: .authorization) else { return nil }
        // Every call reads it: bytes, not characters or Foundation's character sets (3 % of the proxy's CPU each).
        let bytes = value.utf8
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")), bytes.distance(from: bytes.startIndex, to: space) == 6,
            zip(bytes[..<space], "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 })
        else { return nil }
        let token = value[bytes.index(after: space)...].trimmingHTTPWhitespace()
        return token.isEmpty ? nil : token
    }
}

extension HTTPFields {
    /// `self[name]`: the field's value, or the values of all fields named `name` joined as HTTP joins them. A field that
    /// appears once, as nearly every request's `Authorization` does, is returned without building a new string.
    func value(of name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
