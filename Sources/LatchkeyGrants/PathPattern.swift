import LatchkeyModel

/// A pattern over a proxied call's path: `/repos/acme/*`, `/repos/**`, `/user`.
///
/// Segments are matched one by one against the path the proxy's guard accepted (still percent-encoded, without the
/// leading slash): a literal segment matches exactly that segment, case and all; `*` matches any one non-empty
/// segment; `**` matches any number of segments, none included. A literal never matches a percent-encoded segment
/// (`%61cme` is not `acme`), so an encoding can only narrow what a grant allows, never widen it.
public struct PathPattern: Hashable, Sendable, CustomStringConvertible {
    /// One segment of a pattern.
    public enum Segment: Hashable, Sendable {
        /// Exactly this segment.
        case literal(String)
        /// `*`: any one non-empty segment.
        case one
        /// `**`: any number of segments.
        case any
    }

    public let segments: [Segment]
    /// The pattern as written.
    public let description: String

    /// The longest pattern accepted, in bytes, and the most segments.
    static let maxLength = 512
    static let maxSegments = 32

    /// Parses `raw`: it starts with `/`; its segments are non-empty; `*` and `**` stand as whole segments; literals hold
    /// no `%`, `?`, `#`, backslash, whitespace or control character, and are not `.` or `..`. `field` names it in errors.
    public init(parsing raw: String, field: String = "paths") throws(LatchkeyError) {
        func refuse(_ why: String) -> LatchkeyError {
            LatchkeyError(.invalidRequest, "\(field): '\(raw.prefix(80))' \(why)", field: field)
        }
        guard raw.hasPrefix("/") else { throw refuse("must start with /") }
        guard raw.utf8.count <= Self.maxLength else { throw refuse("is longer than \(Self.maxLength) bytes") }
        let parts = raw == "/" ? [] : raw.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= Self.maxSegments else { throw refuse("has more than \(Self.maxSegments) segments") }
        var segments: [Segment] = []
        for part in parts {
            switch part {
            case "": throw refuse("has an empty segment")
            case "*": segments.append(.one)
            case "**": segments.append(.any)
            case ".", "..": throw refuse("has a dot segment")
            default:
                if part.contains("*") { throw refuse("uses * inside a segment; * and ** stand for whole segments") }
                if part.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 >= 0x80 || "%?#\\".utf8.contains($0) }) {
                    throw refuse("has a character a path pattern cannot hold (%, ?, #, \\, space, control or non-ASCII)")
                }
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.description = raw
    }

    /// Whether the proxied `path` (as the guard accepted it: percent-encoded, no leading slash, no query) matches.
    public func matches(_ path: String) -> Bool {
        let parts = path.isEmpty ? [] : path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return Self.match(segments[...], parts[...])
    }

    private static func match(_ pattern: ArraySlice<Segment>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        switch first {
        case .any:
            // Zero segments, or one more segment and `**` again.
            return match(pattern.dropFirst(), path) || (!path.isEmpty && match(pattern, path.dropFirst()))
        case .one:
            guard let segment = path.first, !segment.isEmpty else { return false }
            return match(pattern.dropFirst(), path.dropFirst())
        case .literal(let literal):
            guard path.first == literal else { return false }
            return match(pattern.dropFirst(), path.dropFirst())
        }
    }

    /// Whether every path `other` matches is matched by this pattern too. Sound (never true when some path would match
    /// `other` only); a `**` in `other` is covered only by a `**` here.
    public func includes(_ other: PathPattern) -> Bool {
        Self.includes(segments[...], other.segments[...])
    }

    private static func includes(_ wide: ArraySlice<Segment>, _ narrow: ArraySlice<Segment>) -> Bool {
        if let first = wide.first, first == .any {
            // `**` here covers nothing more of `other`, or absorbs its next segment, whatever that is.
            return includes(wide.dropFirst(), narrow) || (!narrow.isEmpty && includes(wide, narrow.dropFirst()))
        }
        guard let next = narrow.first else { return wide.isEmpty }
        guard let first = wide.first else { return false }
        switch (first, next) {
        case (.one, .literal), (.one, .one): return includes(wide.dropFirst(), narrow.dropFirst())
        case (.literal(let a), .literal(let b)) where a == b: return includes(wide.dropFirst(), narrow.dropFirst())
        default: return false
        }
    }
}
