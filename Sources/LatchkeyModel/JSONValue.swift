import Foundation

/// A JSON value, for tool schemas, body templates and provider responses.
public enum JSONValue: Sendable, Equatable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses JSON bytes; nil when they are not JSON.
    public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return nil
        }
        return JSONValue(foundation: any)
    }

    /// Converts a Foundation JSON object (from JSONSerialization).
    public init?(foundation any: Any) {
        switch any {
        case is NSNull: self = .null
        case let n as NSDecimalNumber:
            // JSONSerialization reads numbers past 64-bit integers as decimals, whose `doubleValue` is off in the last
            // digits (12349012345679012345690 became 1.2349012345679015e22): the nearest double is read from the digits.
            self = .number(Double(n.stringValue) ?? n.doubleValue)
        case let n as NSNumber:
            // JSONSerialization gives booleans as NSNumber; tell them apart by their type encoding.
            if CFGetTypeIDCompat(n) { self = .bool(n.boolValue) } else { self = .number(n.doubleValue) }
        case let s as String: self = .string(s)
        case let a as [Any]:
            var out: [JSONValue] = []
            for element in a {
                guard let v = JSONValue(foundation: element) else { return nil }
                out.append(v)
            }
            self = .array(out)
        case let o as [String: Any]:
            var out: [String: JSONValue] = [:]
            for (k, element) in o {
                guard let v = JSONValue(foundation: element) else { return nil }
                out[k] = v
            }
            self = .object(out)
        default: return nil
        }
    }

    /// Serialises to compact JSON with sorted keys.
    public func serialized() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("null".utf8))
    }

    /// Follows a dotted path (`authed_user.access_token`) through objects. Array indexes are numbers.
    public func value(atPath path: String) -> JSONValue? {
        var current = self
        for key in path.split(separator: ".") {
            switch current {
            case .object(let o):
                guard let next = o[String(key)] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(key), a.indices.contains(i) else { return nil }
                current = a[i]
            default: return nil
            }
        }
        return current
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var numberValue: Double? { if case .number(let n) = self { n } else { nil } }

    /// A scalar rendered as text: strings as is, numbers without a trailing `.0`, booleans as words.
    public var scalarText: String? {
        switch self {
        case .string(let s): s
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): b ? "true" : "false"
        default: nil
        }
    }
}

private func CFGetTypeIDCompat(_ n: NSNumber) -> Bool {
    // On Linux, booleans from JSONSerialization have objCType "c" and are exactly 0 or 1.
    let type = String(cString: n.objCType)
    return type == "c" || type == "B"
}
