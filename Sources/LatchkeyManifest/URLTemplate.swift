/// A URL with `{name}` placeholders, filled from a connection's values at call time.
public struct URLTemplate: Sendable, Equatable, CustomStringConvertible {
    public let raw: String
    /// The placeholder names, in order of appearance.
    public let placeholders: [String]
    /// `raw`, read once: the proxy fills a base URL on every call.
    private let template: PlaceholderTemplate

    public init(_ raw: String) {
        self.raw = raw
        self.placeholders = Placeholders.names(in: raw)
        self.template = PlaceholderTemplate(raw)
    }

    public var description: String { raw }

    public static func == (lhs: URLTemplate, rhs: URLTemplate) -> Bool {
        lhs.raw == rhs.raw
    }

    /// Fills every placeholder from `values`. Returns nil when one is missing.
    public func render(_ values: [String: String]) -> String? {
        template.render { values[$0] }
    }
}

/// `{name}` placeholders in templates. Names match `[A-Za-z_][A-Za-z0-9_]*`; other braces are literal.
public enum Placeholders {
    /// The placeholder names in `text`, in order, without duplicates.
    public static func names(in text: String) -> [String] {
        var names: [String] = []
        scan(text) { token in
            if case .placeholder(let name) = token, !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Replaces each placeholder with `lookup(name)`; nil if any lookup fails. A text filled more than once is
    /// better read once into a ``PlaceholderTemplate``.
    public static func render(_ text: String, _ lookup: (String) -> String?) -> String? {
        PlaceholderTemplate(text).render(lookup)
    }

    /// The placeholder's name when `text` is exactly one placeholder, such as `"{title}"`.
    public static func whole(_ text: String) -> String? {
        let n = names(in: text)
        return n.count == 1 && text == "{\(n[0])}" ? n[0] : nil
    }

    enum Token { case literal(Substring), placeholder(String) }

    /// Reads `text` as UTF-8 bytes: braces and names are ASCII, and every credential injection renders a template on
    /// each proxied call, where splitting into characters cost a tenth of Latchkey's own work.
    static func scan(_ text: String, _ emit: (Token) -> Void) {
        let bytes = text.utf8
        var rest = bytes.startIndex
        while let open = bytes[rest...].firstIndex(of: UInt8(ascii: "{")) {
            emit(.literal(text[rest..<open]))
            let afterOpen = bytes.index(after: open)
            if let close = bytes[afterOpen...].firstIndex(of: UInt8(ascii: "}")), isName(text[afterOpen..<close]) {
                emit(.placeholder(String(text[afterOpen..<close])))
                rest = bytes.index(after: close)
            } else {
                emit(.literal(text[open..<afterOpen]))
                rest = afterOpen
            }
        }
        emit(.literal(text[rest...]))
    }

    static func isName(_ s: Substring) -> Bool {
        func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
        guard let first = s.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return s.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
