/// The parameters of a `Bearer` challenge in a `WWW-Authenticate` header (RFC 6750 section 3, RFC 9728 section 5.1),
/// such as `resource_metadata`, `scope` and `error`. Other schemes' challenges in the same header are skipped.
public struct BearerChallenge: Sendable, Equatable {
    public var parameters: [String: String]

    public var resourceMetadata: String? { parameters["resource_metadata"] }
    public var scope: String? { parameters["scope"] }

    /// The Bearer challenge among `headerValues`, or nil when none is a Bearer challenge.
    public static func parse(_ headerValues: [String]) -> BearerChallenge? {
        for value in headerValues {
            if let found = parse(value) { return found }
        }
        return nil
    }

    /// Reads one header value: challenges `scheme [param=value, ...]`, separated by commas, values as quoted
    /// strings (with backslash escapes) or bare.
    static func parse(_ value: String) -> BearerChallenge? {
        var scanner = Scanner(Array(value.utf8))
        var current: String?
        var found: [String: String]?
        var params: [String: String] = [:]
        func finish() {
            if current?.lowercased() == "bearer", found == nil { found = params }
            params = [:]
        }
        while !scanner.atEnd {
            scanner.skip { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C }
            guard let token = scanner.token() else {
                scanner.advance()
                continue
            }
            scanner.skip { $0 == 0x20 || $0 == 0x09 }
            if scanner.peek == 0x3D {  // `=`: a parameter of the current challenge
                scanner.advance()
                scanner.skip { $0 == 0x20 || $0 == 0x09 }
                params[token.lowercased()] = scanner.peek == 0x22 ? scanner.quoted() : scanner.bare()
            } else {  // a new challenge's scheme
                finish()
                current = token
            }
        }
        finish()
        return found.map(BearerChallenge.init(parameters:))
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }
        mutating func advance() { index += 1 }
        mutating func skip(_ what: (UInt8) -> Bool) { while let b = peek, what(b) { index += 1 } }

        /// An RFC 9110 token (tchar+); nil when none starts here.
        mutating func token() -> String? {
            let start = index
            while let b = peek, Self.isTokenChar(b) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }

        /// An unquoted value, up to the next comma or space (lenient: a URL is not a token, yet servers send them bare).
        mutating func bare() -> String {
            let start = index
            while let b = peek, b != 0x2C, b != 0x20, b != 0x09 { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A quoted string, its escapes undone; an unterminated one ends at the end of the value.
        mutating func quoted() -> String {
            advance()
            var out: [UInt8] = []
            while let b = peek {
                advance()
                if b == 0x22 { break }
                if b == 0x5C, let next = peek {
                    out.append(next)
                    advance()
                } else {
                    out.append(b)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        static func isTokenChar(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
                || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}
