import LatchkeyModel
import Testing

@testable import LatchkeyProxy

/// The proxy path's segment rules, checked a byte at a time, answer as the rules read on the path split at `/`: every
/// path of up to six bytes over `a . / ; :` is refused for the same reason, or passes, under both.
@Suite struct PathSegmentTests {
    /// The rules as written over the split path: the reason a path is refused, or nil.
    static func refusalBySplitting(_ path: String) -> String? {
        if path.hasPrefix("/") { return "must not start with //" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { segment in
            let name = segment.prefix { $0 != ";" }
            return name == "." || name == ".."
        }) {
            return "holds a dot segment"
        }
        if segments.dropLast().contains(where: \.isEmpty) { return "holds an empty segment (//)" }
        if let first = segments.first, first.contains(":") { return "must not be an absolute URL" }
        if path.contains("://") { return "must not hold a URL" }
        return nil
    }

    static func paths(upTo length: Int) -> [String] {
        var all = [""]
        var last = [""]
        for _ in 0..<length {
            last = last.flatMap { prefix in ["a", ".", "/", ";", ":"].map { prefix + $0 } }
            all += last
        }
        return all
    }

    @Test func everyShortPathIsJudgedAsTheSplitRulesJudgeIt() {
        var refused = 0
        for path in Self.paths(upTo: 6) {
            let expected = Self.refusalBySplitting(path).map { "path: \($0)" }
            var actual: String?
            do { try ProxyTarget.checkPath(path) } catch { actual = error.message }
            #expect(actual == expected, "\(path)")
            if expected != nil { refused += 1 }
        }
        // Both answers occur, many times each.
        #expect(refused > 1_000 && refused < Self.paths(upTo: 6).count - 1_000)
    }
}
