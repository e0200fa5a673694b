import LatchkeyHTTP
import Testing

/// https anywhere, http only to loopback, everything else refused before I/O.
@Suite struct OutboundURLPolicyTests {
    @Test(arguments: [
        ("https://api.github.com/user", "https", "api.github.com", 443),
        ("HTTPS://API.Example.COM:8443/x?y=1", "https", "api.example.com", 8443),
        ("http://127.0.0.1:8080/callback", "http", "127.0.0.1", 8080),
        ("http://127.255.0.9/", "http", "127.255.0.9", 80),
        ("http://localhost:3000", "http", "localhost", 3000),
        ("http://LOCALHOST/", "http", "localhost", 80),
        ("http://[::1]:9000/", "http", "::1", 9000),
        ("http://[0:0:0:0:0:0:0:1]/", "http", "::1", 80),  // curl normalizes IPv6
        ("https://[2001:db8::1]/", "https", "2001:db8::1", 443),
        // curl normalizes IPv4 shorthands, so the host checked is the host connected to.
        ("http://127.1/", "http", "127.0.0.1", 80),
        ("http://0x7f000001:81/", "http", "127.0.0.1", 81),
    ])
    func allowedURLsReportSchemeHostAndPort(url: String, scheme: String, host: String, port: Int) throws {
        let checked = try OutboundURLPolicy.check(url)
        #expect(checked.scheme == scheme)
        #expect(checked.host == host)
        #expect(checked.port == port)
    }

    @Test(arguments: [
        "http://example.com/",
        "http://10.0.0.1/",
        "http://192.168.1.1:8080/",
        "http://0.0.0.0/",
        "http://128.0.0.1/",
        "http://127.0.0.1.nip.io/",
        "http://localhost.example.com/",
        "http://localhost./",
        "http://0x0a000001/",
        "http://[::2]/",
        "http://[::ffff:127.0.0.1]/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "gopher://localhost/",
        "ws://localhost/",
    ])
    func refusesPlainHTTPToNonLoopbackHostAndOtherSchemes(url: String) {
        let error = #expect(throws: OutboundError.self) { try OutboundURLPolicy.check(url) }
        #expect(error?.code == .insecureURL || (url.hasPrefix("file:") && error?.code == .invalidURL))
    }

    @Test(arguments: ["", "not a url", "https://", "https://exa mple.com/", "https://a:99999/", "//example.com/", "https://x\r\n.com/"])
    func refusesUnparsableURLsAsInvalid(url: String) {
        let error = #expect(throws: OutboundError.self) { try OutboundURLPolicy.check(url) }
        #expect(error?.code == .invalidURL)
    }

    @Test func refusalMessageNamesTheOriginButNotThePathOrQuery() {
        let error = #expect(throws: OutboundError.self) {
            try OutboundURLPolicy.check("http://example.com/oauth/token?client_secret=s3cr3t")
        }
        #expect(error?.message.contains("example.com") == true)
        #expect(error?.message.contains("s3cr3t") == false)
        #expect(error?.message.contains("/oauth") == false)
    }
}
