/// A text with `{name}` placeholders, read once: filling it walks its parts instead of scanning the text again. A
/// credential's injection format fills one on every proxied call.
public struct PlaceholderTemplate: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The text as written.
    public let raw: String

    enum Part: Sendable {
        case literal(String)
        case placeholder(String)
    }

    private let parts: [Part]

    public init(_ raw: String) {
        self.raw = raw
        var parts: [Part] = []
        Placeholders.scan(raw) { token in
            switch token {
            case .literal(let text): if !text.isEmpty { parts.append(.literal(String(text))) }
            case .placeholder(let name): parts.append(.placeholder(name))
            }
        }
        self.parts = parts
    }

    public init(stringLiteral raw: String) {
        self.init(raw)
    }

    public var description: String { raw }

    public static func == (lhs: PlaceholderTemplate, rhs: PlaceholderTemplate) -> Bool {
        lhs.raw == rhs.raw
    }

    /// Replaces each placeholder with `lookup(name)`; nil if any lookup fails. The same text as
    /// ``Placeholders/render(_:_:)`` of ``raw``.
    public func render(_ lookup: (String) -> String?) -> String? {
        var out = ""
        out.reserveCapacity(raw.utf8.count + 64)
        for part in parts {
            switch part {
            case .literal(let text):
                out += text
            case .placeholder(let name):
                guard let value = lookup(name) else { return nil }
                out += value
            }
        }
        return out
    }
}
