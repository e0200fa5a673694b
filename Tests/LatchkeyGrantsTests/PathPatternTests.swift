import LatchkeyGrants
import LatchkeyModel
import Testing

/// How a path pattern reads and what it matches: whole segments, case and encoding kept, `*` one segment, `**` any.
@Suite struct PathPatternTests {
    /// pattern, path as the proxy guard passes it (no leading slash), matches
    static let table: [(String, String, Bool)] = [
        ("/repos/acme/*", "repos/acme/x", true),
        ("/repos/acme/*", "repos/acme-evil/x", false),
        ("/repos/acme/*", "repos/acme", false),
        ("/repos/acme/*", "repos/acme/x/y", false),
        ("/repos/acme/*", "repos/ACME/x", false),
        ("/repos/acme/*", "Repos/acme/x", false),
        ("/repos/acme/*", "repos/%61cme/x", false),
        ("/repos/acme/*", "repos/acme/", false),
        ("/repos/acme/*", "repos/acme/%2e%2e", true),  // one segment; the proxy's guard refuses it before any grant is asked
        ("/repos/**", "repos", true),
        ("/repos/**", "repos/acme/x/y/z", true),
        ("/repos/**", "reposx/acme", false),
        ("/repos/**", "", false),
        ("/repos/*/issues", "repos/acme/issues", true),
        ("/repos/*/issues", "repos/acme/evil/issues", false),
        ("/repos/*/issues", "repos//issues", false),
        ("/**/issues", "repos/acme/issues", true),
        ("/**/issues", "issues", true),
        ("/**/issues", "repos/acme/issues/1", false),
        ("/user", "user", true),
        ("/user", "user/keys", false),
        ("/user", "users", false),
        ("/", "", true),
        ("/", "user", false),
        ("/**", "", true),
        ("/**", "anything/at/all", true),
    ]

    @Test(arguments: table) func matches(_ pattern: String, _ path: String, _ expected: Bool) throws {
        #expect(try PathPattern(parsing: pattern).matches(path) == expected)
    }

    @Test(arguments: [
        "repos/acme", "/repos//x", "/repos/ac*me", "/repos/*x", "/repos/../x", "/repos/./x", "/repos/%2F", "/repos/a?b", "/repos/a#b",
        "/repos/a b", "/repos/a\\b", "/repos/é", "",
    ]) func refuses(_ pattern: String) {
        #expect(throws: LatchkeyError.self) { try PathPattern(parsing: pattern, field: "grants[0].paths") }
    }

    @Test func anErrorNamesTheField() {
        do {
            _ = try PathPattern(parsing: "/repos/ac*me", field: "grants[2].paths")
            Issue.record("accepted")
        } catch {
            #expect(error.field == "grants[2].paths")
            #expect(error.code == .invalidRequest)
        }
    }

    /// wide, narrow, wide includes narrow
    static let inclusion: [(String, String, Bool)] = [
        ("/repos/**", "/repos/acme/*", true),
        ("/repos/**", "/repos/**", true),
        ("/repos/**", "/repos", true),
        ("/repos/acme/*", "/repos/acme/x", true),
        ("/repos/acme/*", "/repos/*/x", false),
        ("/repos/*", "/repos/**", false),
        ("/repos/acme/*", "/repos/acme-evil/*", false),
        ("/**", "/anything/**", true),
        ("/*/x", "/a/x", true),
        ("/a/x", "/*/x", false),
        ("/**/issues", "/repos/*/issues", true),
        ("/**/issues", "/repos/**", false),
    ]

    @Test(arguments: inclusion) func includes(_ wide: String, _ narrow: String, _ expected: Bool) throws {
        #expect(try PathPattern(parsing: wide).includes(try PathPattern(parsing: narrow)) == expected)
    }
}
