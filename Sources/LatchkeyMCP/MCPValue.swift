import Foundation
import LatchkeyAPI
import LatchkeyModel
import MCP

/// Conversions between Latchkey's JSON values and the MCP SDK's `Value`.
extension JSONValue {
    init(mcp value: MCP.Value) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .number(Double(i))
        case .double(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .data(_, let d): self = .string(d.base64EncodedString())
        case .array(let a): self = .array(a.map(JSONValue.init(mcp:)))
        case .object(let o): self = .object(o.mapValues(JSONValue.init(mcp:)))
        }
    }

    var mcpValue: MCP.Value {
        switch self {
        case .null: .null
        case .bool(let b): .bool(b)
        case .number(let n): n.rounded() == n && abs(n) < 9e15 ? .int(Int(n)) : .double(n)
        case .string(let s): .string(s)
        case .array(let a): .array(a.map(\.mcpValue))
        case .object(let o): .object(o.mapValues(\.mcpValue))
        }
    }

    /// Compact JSON text, for tool results shown to a model.
    var text: String { String(decoding: serialized(), as: UTF8.self) }

    /// An API answer as a JSON value, written as the HTTP API writes it.
    static func encoding(_ value: some Encodable) throws -> JSONValue {
        guard let json = JSONValue.parse(Array(try JSONEncoder.latchkeyAPI.encode(value))) else {
            throw LatchkeyError(.internalError, "an answer could not be written as JSON")
        }
        return json
    }
}
