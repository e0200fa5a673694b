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
    ]

    @Test(arguments: hostile)
    func hostilePathsAreRefused(path: String) {
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: path, query: nil) }
    }

    @Test func aHostileQueryIsRefused() {
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: "x", query: "a=1\r\nHost: evil") }
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: "x", query: "a=1#x") }
    }
}
