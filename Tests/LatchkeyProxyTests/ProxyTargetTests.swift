import LatchkeyModel
import LatchkeyProxy
import Testing

@Suite("Proxy URL guard")
struct ProxyTargetTests {
    let base = "https://api.example.com/v2"

    @Test(arguments: [
        ("repos/a/b", nil as String?, "https://api.example.com/v2/repos/a/b"),
        ("user", "per_page=5&q=a%20b", "https://api.example.com/v2/user?per_page=5&q=a%20b"),
        ("", nil, "https://api.example.com/v2"),
        ("packages/@scope/name", nil, "https://api.example.com/v2/packages/@scope/name"),
    ])
    func ordinaryPathsStayUnderTheBaseURL(path: String, query: String?, expected: String) throws {
        #expect(try ProxyTarget.url(base: base, path: path, query: query) == expected)
    }

    /// Hostile paths: every one is refused before any I/O.
    static let hostile = [
        "../admin", "a/../../etc/passwd", "a/%2e%2e/b", "%2E%2E/x", "a/%2e./b", "./x", "a/./b", "/evil.com/x", "//evil.com",
        "http://evil.com/", "https:evil.com", "a\\..\\b", "a%5c..%5cb", "a%2fb", "a%00b", "a\r\nHost: evil", "a%0d%0aX: y",
        "a#frag", "a%23b", "a%3fb", "a%252e%252e/b", "a//b", "évil", "a\tb", "file:///etc/passwd",
        // Path parameters on dot segments (Tomcat and Spring drop `;...` and then resolve the dots).
        "a/..;/b", "..;/admin", "a/.;/b", "a/..;jsessionid=x/b", "a/.;x=1;y=2/../b",
        // Overlong, invalid and truncated UTF-8 in escapes (`%c0%ae` is an overlong '.'), and broken escapes.
        "a/%c0%ae%c0%ae/b", "%c0%ae%c0%ae/x", "a/%e0%80%ae/b", "a/%f0%80%80%ae/b", "a/%c0%af/b", "a/%ff/b", "a/%c3/b",
        "a/%ed%a0%80/b", "a/%zz/b", "a/%/b", "a/%4",
        // A raw query mark would end the path early, after a dot segment the check saw as `.?;` (found by `make fuzz`).
        "a/.?;/b", "a/..?x", "a?b",
    ]

    @Test(arguments: hostile)
    func hostilePathsAreRefused(path: String) {
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: path, query: nil) }
    }

    /// Escapes of valid UTF-8 and parameters on ordinary segments pass as they are.
    @Test(arguments: ["files/%C3%A9t%C3%A9", "a;v=1/b", "x/%e2%82%ac", "matrix;a=1;b=2"])
    func validEscapesAndParametersOnOrdinarySegmentsPass(path: String) throws {
        #expect(try ProxyTarget.url(base: base, path: path, query: nil) == "\(base)/\(path)")
    }

    /// A tool's path, built by Latchkey, still never holds a dot segment with parameters.
    @Test func aBuiltPathWithADotSegmentAndParametersIsRefused() {
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: "a/..;/b", query: nil, encodedByLatchkey: true) }
    }

    @Test func aHostileQueryIsRefused() {
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: "x", query: "a=1\r\nHost: evil") }
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: "x", query: "a=1#x") }
    }
}
