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
        #expect(try ProxyTarget.url(base: base, path: path, query: query, bases: Self.bases) == expected)
    }

    /// The proxy's memory of base URLs, shared by every case here as the proxy shares it by every call.
    static let bases = BaseURLs()

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
        #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: base, path: path, query: nil, bases: Self.bases) }
    }

    /// A base URL the outbound policy refuses is refused on every call, never remembered as allowed.
    @Test func aRefusedBaseIsRefusedOnEveryCall() throws {
        let bases = BaseURLs()
        for _ in 0..<3 {
            #expect(throws: LatchkeyError.self) { try ProxyTarget.url(base: "http://api.example.com", path: "x", query: nil, bases: bases) }
        }
        #expect(try ProxyTarget.url(base: "http://127.0.0.1:8080", path: "x", query: nil, bases: bases) == "http://127.0.0.1:8080/x")
    }

    /// Past its capacity the memory starts over, and every base still gets its own origin.
    @Test func manyBasesEachKeepTheirOwnOrigin() throws {
        let bases = BaseURLs()
        for round in 0..<2 {
            for i in 0..<1_500 {
                let base = "https://tenant\(i).example.com"
                // A base given another's parse would build the other's URL.
                #expect(try ProxyTarget.url(base: base, path: "v\(round)", query: nil, bases: bases) == "\(base)/v\(round)")
            }
        }
        #expect(try bases.checked("https://tenant7.example.com").base.host == "tenant7.example.com")
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
