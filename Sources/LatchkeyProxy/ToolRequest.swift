import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth

/// Turns a tool call's validated arguments into the provider request the manifest describes.
///
/// Path arguments are percent-encoded as one segment, so an argument can never inject `/`, `?` or `#`.
/// Query parameters and JSON body values whose argument is absent are dropped; a body value that is
/// exactly `"{arg}"` keeps the argument's JSON type.
public struct ToolRequest: Sendable, Equatable {
    public var method: String
    /// The path and query, relative to the base URL, without a leading slash.
    public var path: String
    public var query: String?
    public var headers: [OutboundHeader]
    public var body: [UInt8]?

    public init(tool: ToolSpec, arguments: JSONValue) throws(LatchkeyError) {
        try SchemaValidator.validate(arguments, against: tool.input)
        let args = arguments.objectValue ?? [:]
        func scalar(_ name: String) throws(LatchkeyError) -> String? {
            guard let value = args[name], value != .null else { return nil }
            guard let text = value.scalarText else {
                throw LatchkeyError(.invalidRequest, "arguments.\(name): must be a string, number or boolean here", field: "arguments.\(name)")
            }
            return text
        }
        // Path: every placeholder is required; each is one encoded segment.
        var path = ""
        var missing: String?
        var badScalar: LatchkeyError?
        path = Placeholders.render(tool.path) { name in
            do {
                guard let text = try scalar(name), !text.isEmpty else {
                    missing = missing ?? name
                    return ""
                }
                // Percent-encoding leaves dots alone, so "." and ".." would still be dot segments.
                guard text != ".", text != "..", !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                    throw LatchkeyError(
                        .invalidRequest, "arguments.\(name): '\(text.prefix(20))' may not be a path segment", field: "arguments.\(name)")
                }
                return FormEncoding.percentEncode(text)
            } catch {
                badScalar = badScalar ?? (error as? LatchkeyError)
                return ""
            }
        } ?? ""
        if let badScalar { throw badScalar }
        if let missing {
            throw LatchkeyError(.invalidRequest, "arguments.\(missing): required (it is part of the path)", field: "arguments.\(missing)")
        }
        self.method = tool.method
        self.path = String(path.drop { $0 == "/" })

        var pairs: [(String, String)] = []
        for key in tool.query.keys.sorted() {
            let template = tool.query[key]!
            if let whole = Placeholders.whole(template) {
                if let value = try scalar(whole) { pairs.append((key, value)) }
            } else if let rendered = try Self.renderText(template, scalar) {
                pairs.append((key, rendered))
            }
        }
        self.query = pairs.isEmpty ? nil : FormEncoding.encode(pairs)

        var headers: [OutboundHeader] = []
        for key in tool.headers.keys.sorted() {
            if let value = try Self.renderText(tool.headers[key]!, scalar) {
                guard HeaderRules.isSafe(name: key, value: value) else {
                    throw LatchkeyError(.invalidRequest, "arguments: a value for header \(key) holds a line break", field: "arguments")
                }
                headers.append(OutboundHeader(name: key, value: value))
            }
        }
        if let template = tool.body {
            let filled = Self.fill(template, args) ?? .object([:])
            switch tool.bodyFormat {
            case .json:
                headers.append(OutboundHeader(name: "Content-Type", value: "application/json"))
                self.body = filled.serialized()
            case .form:
                headers.append(OutboundHeader(name: "Content-Type", value: "application/x-www-form-urlencoded"))
                let fields = (filled.objectValue ?? [:]).sorted { $0.key < $1.key }.compactMap { k, v in v.scalarText.map { (k, $0) } }
                self.body = Array(FormEncoding.encode(fields).utf8)
            }
        } else {
            self.body = nil
        }
        self.headers = headers
    }

    /// Renders a text template; nil when it names an absent argument.
    static func renderText(_ template: String, _ scalar: (String) throws(LatchkeyError) -> String?) throws(LatchkeyError) -> String? {
        var failure: LatchkeyError?
        var absent = false
        let out = Placeholders.render(template) { name in
            do {
                guard let v = try scalar(name) else {
                    absent = true
                    return ""
                }
                return v
            } catch {
                failure = error as? LatchkeyError
                return ""
            }
        }
        if let failure { throw failure }
        return absent ? nil : out
    }

    /// Fills a JSON body template; nil means "drop this value".
    static func fill(_ template: JSONValue, _ args: [String: JSONValue]) -> JSONValue? {
        switch template {
        case .string(let s):
            if let whole = Placeholders.whole(s) {
                guard let v = args[whole], v != .null else { return nil }
                return v
            }
            var absent = false
            let out = Placeholders.render(s) { name in
                guard let v = args[name]?.scalarText else {
                    absent = true
                    return ""
                }
                return v
            }
            return absent ? nil : out.map(JSONValue.string)
        case .array(let items):
            return .array(items.compactMap { fill($0, args) })
        case .object(let object):
            var out: [String: JSONValue] = [:]
            for (k, v) in object {
                if let filled = fill(v, args) { out[k] = filled }
            }
            // An object emptied by absent arguments goes too, unless it was empty in the manifest.
            if out.isEmpty && !object.isEmpty { return nil }
            return .object(out)
        default:
            return template
        }
    }
}
